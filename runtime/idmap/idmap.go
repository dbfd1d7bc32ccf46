// Package idmap is a map keyed by task ID, laid out by task block.
//
// Task IDs are hashes, so a Go map keyed by them puts a parent's
// consecutive children at random places: in a table of a million entries
// each access is a cache (and TLB) miss, and a driver's stream of tasks
// touches a new place per task. transport.ChildTaskID gives a parent's
// children IDs in blocks of transport.TaskBlock that share a block key;
// Map keeps a block's values together, under one entry of a Go map keyed by
// the block key. A stream of consecutive children then touches one entry,
// hot in the cache, per block.
//
// A block holds up to two values (a parent of one or two children, as in
// trees, costs one small block) and all sixteen behind a pointer once a
// slot above 1 is used. The block used last is remembered, so a stream of
// consecutive children finds its block without hashing.
package idmap

import (
	"iter"

	"raysim/runtime/transport"
)

// Map maps task IDs to values of type V. The zero Map is empty and ready to
// use. Iteration order (All) is unspecified: callers whose behaviour could
// depend on it sort.
type Map[V any] struct {
	m map[uint64]*block[V]
	n int
	// last is the block used last, and lastKey its key: a stream of
	// consecutive children finds its block without hashing.
	last    *block[V]
	lastKey uint64
}

type block[V any] struct {
	mask  mask
	small [2]V
	big   *[transport.TaskBlock]V
}

// mask has a bit per slot of a block; the conversion does not compile if a
// block outgrows it.
type mask uint16

const _ = mask(1<<transport.TaskBlock - 1)

func split(k transport.TaskID) (uint64, uint64) {
	return transport.TaskBlockKey(k), uint64(k) % transport.TaskBlock
}

func (b *block[V]) slot(i uint64) *V {
	if b.big != nil {
		return &b.big[i]
	}
	return &b.small[i]
}

// find returns the block of key bk, or nil.
func (m *Map[V]) find(bk uint64) *block[V] {
	if m.last != nil && m.lastKey == bk {
		return m.last
	}
	b := m.m[bk]
	if b != nil {
		m.last, m.lastKey = b, bk
	}
	return b
}

// Len is the number of keys present.
func (m *Map[V]) Len() int { return m.n }

// Get returns k's value and whether k is present.
func (m *Map[V]) Get(k transport.TaskID) (V, bool) {
	bk, i := split(k)
	b := m.find(bk)
	if b == nil || b.mask&(1<<i) == 0 {
		var zero V
		return zero, false
	}
	return *b.slot(i), true
}

// Set gives k the value v and returns what k held.
func (m *Map[V]) Set(k transport.TaskID, v V) (old V, had bool) {
	bk, i := split(k)
	b := m.find(bk)
	if b == nil {
		if m.m == nil {
			m.m = make(map[uint64]*block[V])
		}
		b = new(block[V])
		m.m[bk] = b
		m.last, m.lastKey = b, bk
	}
	if had = b.mask&(1<<i) != 0; had {
		old = *b.slot(i)
	} else {
		m.n++
	}
	if b.big == nil && i >= uint64(len(b.small)) {
		b.big = new([transport.TaskBlock]V)
		copy(b.big[:], b.small[:])
		b.small = [2]V{}
	}
	*b.slot(i) = v
	b.mask |= 1 << i
	return old, had
}

// Delete removes k and returns what it held.
func (m *Map[V]) Delete(k transport.TaskID) (old V, had bool) {
	bk, i := split(k)
	b := m.find(bk)
	if b == nil || b.mask&(1<<i) == 0 {
		return old, false
	}
	old = *b.slot(i)
	var zero V
	*b.slot(i) = zero // drop what the value points to
	b.mask &^= 1 << i
	m.n--
	if b.mask == 0 {
		delete(m.m, bk)
		m.last = nil
	}
	return old, true
}

// All yields every key and its value, in no particular order. The loop
// body may Set the key it was given, but must not add or delete keys.
func (m *Map[V]) All() iter.Seq2[transport.TaskID, V] {
	return func(yield func(transport.TaskID, V) bool) {
		for bk, b := range m.m {
			for i := uint64(0); i < transport.TaskBlock; i++ {
				if b.mask&(1<<i) != 0 && !yield(transport.TaskID(bk<<transport.TaskBlockBits|i), *b.slot(i)) {
					return
				}
			}
		}
	}
}

// Keys yields every key, in no particular order (All without the values).
func (m *Map[V]) Keys() iter.Seq[transport.TaskID] {
	return func(yield func(transport.TaskID) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Objects maps object IDs to values of type V: a task's first return
// (index 0, not a Put: the one object of most tasks) by its task's block
// as in Map, any other object in a Go map. The zero Objects is empty and
// ready to use; iteration order is unspecified.
type Objects[V any] struct {
	first Map[V]
	other map[transport.ObjectID]V
}

func isFirst(id transport.ObjectID) bool { return id.Index == 0 && !id.Put }

// Len is the number of objects present.
func (o *Objects[V]) Len() int { return o.first.Len() + len(o.other) }

// Get returns id's value and whether id is present.
func (o *Objects[V]) Get(id transport.ObjectID) (V, bool) {
	if isFirst(id) {
		return o.first.Get(id.Task)
	}
	v, ok := o.other[id]
	return v, ok
}

// Set gives id the value v and returns what id held.
func (o *Objects[V]) Set(id transport.ObjectID, v V) (old V, had bool) {
	if isFirst(id) {
		return o.first.Set(id.Task, v)
	}
	if o.other == nil {
		o.other = make(map[transport.ObjectID]V)
	}
	old, had = o.other[id]
	o.other[id] = v
	return old, had
}

// Delete removes id and returns what it held.
func (o *Objects[V]) Delete(id transport.ObjectID) (old V, had bool) {
	if isFirst(id) {
		return o.first.Delete(id.Task)
	}
	old, had = o.other[id]
	delete(o.other, id)
	return old, had
}

// All yields every object and its value, in no particular order, under the
// rules of Map.All.
func (o *Objects[V]) All() iter.Seq2[transport.ObjectID, V] {
	return func(yield func(transport.ObjectID, V) bool) {
		for t, v := range o.first.All() {
			if !yield(transport.ObjectID{Task: t}, v) {
				return
			}
		}
		for id, v := range o.other {
			if !yield(id, v) {
				return
			}
		}
	}
}
