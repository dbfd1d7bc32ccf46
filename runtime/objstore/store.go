// Package objstore is a node's object store: immutable objects accounted by
// (virtual) size against a capacity, pinned while a pending or running task
// or a reader needs them, the rest evicted least-recently-used first. With a
// spill tier (NewSpilling), primary copies that need room go to it instead
// of staying over capacity, as Ray 1.3+ spills to local disk, and come back
// at their next read (Restore). It is a plain data structure owned by its
// raylet (no locking, no IO); transfers between nodes, and what spilling and
// restoring cost, are the raylet's business.
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
	flags   uint8  // entryFreed, entrySpilled, entryOnDisk
	present bool   // the object is here (in memory, or spilled); else the entry only holds awaited
	inMap   bool   // the store's entry for ID (a removed one is detached)
	prev    *Entry // LRU list, most recent at the tail; nil when not in it
	next    *Entry
	awaited any // see Await
}

// Entry flags, in one byte: a bool of its own each would take the entry
// past its 96-byte size class.
const (
	entryFreed   uint8 = 1 << iota // dropped at the last Unpin
	entrySpilled                   // the object is in the spill tier, not in memory
	entryOnDisk                    // the spill tier holds a copy (kept after a restore: a second spill writes nothing)
)

// inLRU reports whether e is in one of the LRU lists: the evictable
// fetched copies, or (with a spill tier) the spillable primaries; which
// one is told by e.Primary.
func (e *Entry) inLRU() bool { return e.prev != nil }

// Spilled reports whether the object is in the spill tier: still here (the
// GCS lists this node), but a read must Restore it first.
func (e *Entry) Spilled() bool { return e.flags&entrySpilled != 0 }

// Awaited returns what Store.Await recorded in the entry (nil if nothing).
func (e *Entry) Awaited() any { return e.awaited }

// Freed reports whether the object's owner freed it: the copy stays only
// while a task reads it, and is not to be announced again.
func (e *Entry) Freed() bool { return e.flags&entryFreed != 0 }

// Store is one node's object store.
type Store struct {
	capacity int64
	used     int64
	objects  idmap.Objects[*Entry] // the objects here, and the ones awaited (by task block: see idmap)
	present  int                   // entries whose object is here
	primary  int                   // of them, primary copies (Primaries)
	awaiting int                   // entries with something awaiting
	head     Entry                 // sentinel of the LRU list of evictable entries
	// The spill tier (spillCap 0: none). Its primaries leave memory for it
	// least-recently-used first (phead's list, kept only with a tier).
	// spillUsed counts every copy in the tier, restored ones too: as Ray's
	// spilled files, a copy stays on disk until its object goes, so that
	// spilling a restored object again is free.
	spillCap  int64
	spillUsed int64
	phead     Entry
	spills    []Spill // spilled since the last TakeSpills
	// sums caches the chunk Sum (ChunkSum) of each copy here that has
	// one and has been asked for it: a value of real bytes past one chunk,
	// pulled. Kept beside the entries, not in them (an Entry is at exactly
	// its 96-byte size class), and dropped with the copy (remove).
	sums map[*Entry]uint32
	// Stats
	Evictions     uint64
	OverCapacity  uint64
	PeakUsedBytes int64
	// Spilled and Restored count the objects that left memory for the
	// spill tier and came back; SpilledBytes the bytes written to the tier
	// (a restored object spilled again writes none), RestoredBytes the
	// bytes read back.
	Spilled, Restored           uint64
	SpilledBytes, RestoredBytes int64
}

// Spill is one object a store moved out of memory to its spill tier, for
// its raylet to charge and trace (see TakeSpills). Written is false for an
// object restored before, whose copy in the tier was kept: nothing is
// written.
type Spill struct {
	ID      transport.ObjectID
	Bytes   int64
	Written bool
}

// New returns a store of capacity bytes (0 = unbounded), without a spill
// tier: what does not fit is evicted (fetched copies) or admitted over
// capacity (primaries).
func New(capacity int64) *Store {
	s := &Store{capacity: capacity}
	s.head.prev, s.head.next = &s.head, &s.head
	s.phead.prev, s.phead.next = &s.phead, &s.phead
	return s
}

// NewSpilling returns a store of capacity bytes with a spill tier of
// spill bytes (0 = none, as New): when a put or a restore needs room and
// evicting fetched copies did not make enough, unpinned primary copies go
// to the tier, least recently used first, instead of the store going over
// capacity. A tier only serves a bounded store (capacity > 0).
func NewSpilling(capacity, spill int64) *Store {
	s := New(capacity)
	if capacity > 0 && spill > 0 {
		s.spillCap = spill
	}
	return s
}

// Capacity and Used are in bytes (Used counts the objects in memory, not
// the spilled ones); Len is the number of objects here, spilled or not.
func (s *Store) Capacity() int64 { return s.capacity }
func (s *Store) Used() int64     { return s.used }
func (s *Store) Len() int        { return s.present }

// Primaries is how many of the objects here are primary copies (made
// here: the only copy until another node fetches one), spilled ones too:
// what a node's stop would lose (an autoscaler keeps such a node).
func (s *Store) Primaries() int { return s.primary }

// SpillCapacity and SpillUsed are the spill tier's bytes (0: no tier).
func (s *Store) SpillCapacity() int64 { return s.spillCap }
func (s *Store) SpillUsed() int64     { return s.spillUsed }

// TakeSpills returns the objects spilled since the last call, oldest
// first, and forgets them. The slice is the store's: it is valid until the
// store's next put or restore.
func (s *Store) TakeSpills() []Spill {
	sp := s.spills
	s.spills = s.spills[:0]
	return sp
}

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

// Restore brings a spilled object back into memory for a read (it is a
// no-op for one in memory), making room as a put does: it evicts fetched
// copies, whose IDs it returns for the caller to tell the GCS, and may
// spill other primaries (TakeSpills). A read must succeed: when no room
// can be made the object comes back over capacity, and over reports it.
// The restored object is the most recently used. An entry the store no
// longer holds (dropped since it was looked up) stays as it is.
func (s *Store) Restore(e *Entry) (evicted []transport.ObjectID, over bool) {
	if !e.Spilled() || !e.inMap {
		return nil, false
	}
	size := e.Value.SizeOf()
	evicted = s.makeRoom(size) // e's copy stays in the tier (entryOnDisk)
	if s.capacity > 0 && s.used+size > s.capacity {
		over = true
		s.OverCapacity++
	}
	e.flags &^= entrySpilled
	s.used += size
	if s.used > s.PeakUsedBytes {
		s.PeakUsedBytes = s.used
	}
	s.Restored++
	s.RestoredBytes += size
	s.relink(e)
	return evicted, over
}

// makeRoom evicts least-recently-used fetched copies, then spills
// least-recently-used unpinned primaries (with a tier), until size more
// bytes fit in memory or there is nothing left to take. A primary that
// does not fit in what is left of the tier ends the spilling (the rest
// are as recent or more, and scanning past it per put would be quadratic):
// the store then goes over capacity as it would without a tier.
func (s *Store) makeRoom(size int64) (evicted []transport.ObjectID) {
	for s.capacity > 0 && s.used+size > s.capacity && s.head.next != &s.head {
		victim := s.head.next
		s.remove(victim)
		s.Evictions++
		evicted = append(evicted, victim.ID)
	}
	for s.spillCap > 0 && s.used+size > s.capacity && s.phead.next != &s.phead {
		victim := s.phead.next
		vs := victim.Value.SizeOf()
		write := victim.flags&entryOnDisk == 0
		if write && s.spillUsed+vs > s.spillCap {
			break
		}
		s.unlink(victim)
		victim.flags |= entrySpilled | entryOnDisk
		s.used -= vs
		if write {
			s.spillUsed += vs
			s.SpilledBytes += vs
		}
		s.Spilled++
		s.spills = append(s.spills, Spill{ID: victim.ID, Bytes: vs, Written: write})
	}
	return evicted
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
// primary copy) while fetched copies are a cache; with a spill tier an
// unpinned primary may leave memory for it (see NewSpilling, TakeSpills),
// never the store. When even that cannot
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
		e.flags &^= entryFreed // but is wanted again (rebuilt after a free)
		if primary && !e.Primary {
			if e.inLRU() {
				s.unlink(e)
			}
			e.Primary = true
			s.primary++
			s.relink(e)
		}
		return e, nil, false, nil
	}
	if s.capacity > 0 && s.used+size > s.capacity {
		evicted = s.makeRoom(size)
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
	if primary {
		s.primary++
	}
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
	if e.pins == 0 && e.flags&entryFreed != 0 {
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
	e.flags |= entryFreed
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

// ChunkSum is transport.ChunkSum of e's value served in chunks of
// chunkBytes, computed once per copy: a copy's value never changes while
// the store holds it, and every pull of it sends the sum with each chunk,
// so a pass over all its bytes per pull was work thrown away (1.4 ms a
// pull of 16 MiB). A value whose real bytes fit one chunk has no sum (0)
// and takes no room; an entry the store no longer holds is not kept.
func (s *Store) ChunkSum(e *Entry, chunkBytes int64) uint32 {
	if int64(len(e.Value.Data)) <= chunkBytes {
		return 0
	}
	if sum, ok := s.sums[e]; ok {
		return sum
	}
	sum := transport.ChunkSum(e.Value.Data, chunkBytes)
	if e.inMap && e.present {
		if s.sums == nil {
			s.sums = map[*Entry]uint32{}
		}
		s.sums[e] = sum
	}
	return sum
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
	if e.Primary {
		s.primary--
	}
	if e.flags&entryOnDisk != 0 {
		s.spillUsed -= e.Value.SizeOf()
	}
	if !e.Spilled() {
		s.used -= e.Value.SizeOf()
	}
	e.inMap = false
	if len(s.sums) > 0 {
		delete(s.sums, e)
	}
	if e.awaited != nil { // awaited again: keep that in a fresh entry (e stays as it was for its holders)
		s.objects.Set(e.ID, &Entry{ID: e.ID, awaited: e.awaited, inMap: true})
		return
	}
	s.objects.Delete(e.ID)
}

// relink puts e in its LRU list iff it may be taken to make room: an
// unpinned fetched copy (evicted), or an unpinned primary in memory when
// there is a spill tier (spilled).
func (s *Store) relink(e *Entry) {
	listed := e.pins == 0 && (!e.Primary || s.spillCap > 0 && e.flags&entrySpilled == 0)
	switch {
	case listed && !e.inLRU():
		s.pushBack(e)
	case !listed && e.inLRU():
		s.unlink(e)
	}
}

// pushBack appends e to its LRU list (the primaries' or the fetched
// copies'), as the most recently used.
func (s *Store) pushBack(e *Entry) {
	h := &s.head
	if e.Primary {
		h = &s.phead
	}
	e.prev, e.next = h.prev, h
	h.prev.next = e
	h.prev = e
}

func (s *Store) unlink(e *Entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
