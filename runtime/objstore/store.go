// Package objstore is a node's object store: immutable objects accounted by
// (virtual) size against a capacity, pinned while a pending or running task
// or a reader needs them, the rest evicted least-recently-used first. It is a
// plain data structure owned by its raylet (no locking, no IO); transfers
// between nodes are the raylet's business.
package objstore

import (
	"errors"
	"fmt"

	"raysim/runtime/idmap"
	"raysim/runtime/transport"
)

// ErrTooLarge is returned for an object larger than the whole store.
var ErrTooLarge = errors.New("objstore: object larger than the store")

// Entry is one stored object, or one awaited here (see Await).
//
// There is one per object a node holds or awaits, millions in a large
// run: the fields are laid out to fit the allocator's 96-byte size class
// (the count of pins beside the flags, and the LRU membership told by prev
// rather than a flag of its own).
type Entry struct {
	ID      transport.ObjectID
	Value   transport.Value
	pins    int32
	Primary bool   // created here (by a task or Put), not a fetched copy
	freed   bool   // dropped at the last Unpin
	present bool   // the object is here; else the entry only holds awaited
	inMap   bool   // the store's entry for ID (a removed one is detached)
	prev    *Entry // LRU list, most recent at the tail; nil when not in it
	next    *Entry
	awaited any // see Await
}

// inLRU reports whether e is in the LRU list of evictable entries.
func (e *Entry) inLRU() bool { return e.prev != nil }

// Awaited returns what Store.Await recorded in the entry (nil if nothing).
func (e *Entry) Awaited() any { return e.awaited }

// Freed reports whether the object's owner freed it: the copy stays only
// while a task reads it, and is not to be announced again.
func (e *Entry) Freed() bool { return e.freed }

// Store is one node's object store.
type Store struct {
	capacity int64
	used     int64
	objects  idmap.Objects[*Entry] // the objects here, and the ones awaited (by task block: see idmap)
	present  int                   // entries whose object is here
	awaiting int                   // entries with something awaiting
	head     Entry                 // sentinel of the LRU list of evictable entries
	// Stats
	Evictions     uint64
	OverCapacity  uint64
	PeakUsedBytes int64
}

// New returns a store of capacity bytes (0 = unbounded).
func New(capacity int64) *Store {
	s := &Store{capacity: capacity}
	s.head.prev, s.head.next = &s.head, &s.head
	return s
}

// Capacity and Used are in bytes; Len is the number of objects.
func (s *Store) Capacity() int64 { return s.capacity }
func (s *Store) Used() int64     { return s.used }
func (s *Store) Len() int        { return s.present }

// lookup returns the entry of an object that is here, or nil.
func (s *Store) lookup(id transport.ObjectID) *Entry {
	if e, _ := s.objects.Get(id); e != nil && e.present {
		return e
	}
	return nil
}

// Get returns an object and marks it recently used.
func (s *Store) Get(id transport.ObjectID) (*Entry, bool) {
	e := s.lookup(id)
	if e == nil {
		return nil, false
	}
	s.Touch(e)
	return e, true
}

// Peek returns an object without marking it used: for a look at what is
// here (announcing copies again) that is no read.
func (s *Store) Peek(id transport.ObjectID) (*Entry, bool) {
	e := s.lookup(id)
	return e, e != nil
}

// Touch marks an entry in hand (Put's) recently used, as Get does.
func (s *Store) Touch(e *Entry) {
	if e.inLRU() {
		s.unlink(e)
		s.pushBack(e)
	}
}

// Contains reports whether the object is here, without touching the LRU.
func (s *Store) Contains(id transport.ObjectID) bool { return s.lookup(id) != nil }

// Await records w as awaiting an object that is not here yet (nil: clears
// it), for whoever owns the store: the raylet keeps its readers' fetch
// here. The put that ends the wait then finds it in the entry it has just
// touched, where a map of its own would cost a second cache miss per
// object (with a million objects in flight, each miss is most of a
// lookup's cost). It returns the entry holding w (nil when w is nil), which
// the put may be handed back (PutAt) to skip even the lookup.
func (s *Store) Await(id transport.ObjectID, w any) *Entry {
	e, _ := s.objects.Get(id)
	if e == nil {
		if w == nil {
			return nil
		}
		e = &Entry{ID: id, inMap: true}
		s.objects.Set(id, e)
	}
	s.await(e, w)
	if w == nil {
		return nil
	}
	return e
}

// Unawait is Await(e.ID, nil) for an entry in hand (Put's).
func (s *Store) Unawait(e *Entry) {
	if !e.inMap {
		s.Await(e.ID, nil)
		return
	}
	s.await(e, nil)
}

func (s *Store) await(e *Entry, w any) {
	switch {
	case e.awaited == nil && w != nil:
		s.awaiting++
	case e.awaited != nil && w == nil:
		s.awaiting--
	}
	e.awaited = w
	if w == nil && !e.present {
		s.objects.Delete(e.ID)
		e.inMap = false
	}
}

// Awaited returns what Await recorded for id (nil if nothing).
func (s *Store) Awaited(id transport.ObjectID) any {
	if e, _ := s.objects.Get(id); e != nil {
		return e.awaited
	}
	return nil
}

// Awaiting returns the IDs Await recorded something for, in no particular
// order (callers sort).
func (s *Store) Awaiting() []transport.ObjectID {
	if s.awaiting == 0 {
		return nil
	}
	ids := make([]transport.ObjectID, 0, s.awaiting)
	for id, e := range s.objects.All() {
		if e.awaited != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// Put stores an object. It evicts least-recently-used unpinned copies to make
// room and returns their IDs (the caller tells the GCS). Primary copies are
// pinned until their owner frees them (Free): raysim has no distributed
// reference counting, so the copy a task made is kept (like Ray's pinned
// primary copy) while fetched copies are a cache. When even eviction cannot
// make room the object is admitted over capacity and over reports it; an
// object larger than the store is refused, unless it is an error value
// (what readers are told instead, however small the store).
func (s *Store) Put(id transport.ObjectID, v transport.Value, primary bool) (evicted []transport.ObjectID, over bool, err error) {
	_, evicted, over, err = s.PutAt(nil, id, v, primary)
	return evicted, over, err
}

// PutAt is Put returning the object's entry (nil with an error). hint, if
// not nil, is an entry Await returned for id: while it is still id's entry
// the put does not look id up. At a million objects in flight that lookup
// is a cache miss (and a TLB miss) of its own: the entry was made long
// before, when a reader started waiting.
func (s *Store) PutAt(hint *Entry, id transport.ObjectID, v transport.Value, primary bool) (e *Entry, evicted []transport.ObjectID, over bool, err error) {
	size := v.SizeOf()
	if s.capacity > 0 && size > s.capacity && v.ErrKind == transport.ErrKindNone {
		return nil, nil, false, fmt.Errorf("%w: %s is %d bytes, store holds %d", ErrTooLarge, id, size, s.capacity)
	}
	if hint != nil && hint.inMap && hint.ID == id {
		e = hint
	} else {
		e, _ = s.objects.Get(id) // here, awaited (filled in below), or nil
	}
	if e != nil && e.present { // immutable: a second copy changes nothing
		e.freed = false // but is wanted again (rebuilt after a free)
		if primary && !e.Primary {
			e.Primary = true
			if e.inLRU() {
				s.unlink(e)
			}
		}
		return e, nil, false, nil
	}
	for s.capacity > 0 && s.used+size > s.capacity && s.head.next != &s.head {
		victim := s.head.next
		s.remove(victim)
		s.Evictions++
		evicted = append(evicted, victim.ID)
	}
	if s.capacity > 0 && s.used+size > s.capacity {
		over = true
		s.OverCapacity++
	}
	if e == nil {
		e = &Entry{ID: id, inMap: true}
		s.objects.Set(id, e)
	}
	e.Value, e.Primary, e.present = v, primary, true
	s.present++
	s.used += size
	if s.used > s.PeakUsedBytes {
		s.PeakUsedBytes = s.used
	}
	s.relink(e)
	return e, evicted, over, nil
}

// Pin keeps an object from eviction until the matching Unpin.
func (s *Store) Pin(id transport.ObjectID) bool {
	e := s.lookup(id)
	if e == nil {
		return false
	}
	e.pins++
	s.relink(e)
	return true
}

// Unpin releases one Pin. It reports whether that dropped the object: its
// owner freed it while it was pinned (see Free).
func (s *Store) Unpin(id transport.ObjectID) (dropped bool) {
	e := s.lookup(id)
	if e == nil || e.pins == 0 {
		return false
	}
	e.pins--
	if e.pins == 0 && e.freed {
		s.remove(e)
		return true
	}
	s.relink(e)
	return false
}

// Free drops an object its owner freed, or, while it is pinned (a task
// reads it), when the last Unpin comes. It reports whether the object went
// now.
func (s *Store) Free(id transport.ObjectID) (dropped bool) {
	e := s.lookup(id)
	if e == nil {
		return false
	}
	if e.pins == 0 {
		s.remove(e)
		return true
	}
	e.freed = true
	return false
}

// Delete drops an object that is here and not pinned, and reports whether
// it did. A pinned object is in use (a task reads it): it stays, its bytes
// counted and its pins kept, until its readers Unpin it; Free is the drop
// that waits for the last Unpin. (Dropped at once, the store counted bytes
// a reader still held as free, and a later Put of the object made a fresh
// entry whose pins the earlier readers' Unpins then took.)
func (s *Store) Delete(id transport.ObjectID) (dropped bool) {
	e := s.lookup(id)
	if e == nil || e.pins > 0 {
		return false
	}
	s.remove(e)
	return true
}

// IDs returns every stored object ID, in no particular order (callers sort).
func (s *Store) IDs() []transport.ObjectID {
	ids := make([]transport.ObjectID, 0, s.present)
	for id, e := range s.objects.All() {
		if e.present {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Store) remove(e *Entry) {
	if e.inLRU() {
		s.unlink(e)
	}
	s.present--
	s.used -= e.Value.SizeOf()
	e.inMap = false
	if e.awaited != nil { // awaited again: keep that in a fresh entry (e stays as it was for its holders)
		s.objects.Set(e.ID, &Entry{ID: e.ID, awaited: e.awaited, inMap: true})
		return
	}
	s.objects.Delete(e.ID)
}

// relink puts e in the LRU list iff it is evictable.
func (s *Store) relink(e *Entry) {
	evictable := e.pins == 0 && !e.Primary
	switch {
	case evictable && !e.inLRU():
		s.pushBack(e)
	case !evictable && e.inLRU():
		s.unlink(e)
	}
}

func (s *Store) pushBack(e *Entry) {
	e.prev, e.next = s.head.prev, &s.head
	s.head.prev.next = e
	s.head.prev = e
}

func (s *Store) unlink(e *Entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
