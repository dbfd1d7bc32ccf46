package netsim

// The event queue: items live in a slab ([]item, recycled through a free
// list); the priority queue is a 4-ary min-heap of small pointer-free entries
// ordered by (virtual time, sequence number). Nothing on the schedule/pop path
// allocates once the slab and heap have grown to their working size.

type itemKind uint8

const (
	itemFree    itemKind = iota
	itemDeliver          // a message arriving at node
	itemTimer            // a node timer
	itemResume           // resume (or start) a coroutine
	itemWake             // node free again: run its next deferred item
	itemHarness          // Sim.At / Sim.After: not tied to a node
)

// item is one scheduled action. Node items carry the destination incarnation
// they were scheduled for; a mismatch at run time means the node crashed (and
// maybe restarted) in between, and the item is dropped.
type item struct {
	kind      itemKind
	cancelled bool   // timer stopped
	gen       uint32 // bumped on free, so stale Timer handles are detected
	from      NodeID
	inc       uint64
	size      int64
	node      *Node
	payload   any
	fn        func()
	co        *coro
	nextFree  uint32
}

// hent is a heap entry: 24 bytes, no pointers, so the GC never scans the heap.
type hent struct {
	at  int64
	seq uint64
	idx uint32
}

func (a *hent) less(b *hent) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

const noFree = ^uint32(0)

type queue struct {
	items []item
	free  uint32 // head of the free list, noFree if empty
	heap  []hent
	seq   uint64
}

func (q *queue) alloc() uint32 {
	if q.free != noFree {
		i := q.free
		q.free = q.items[i].nextFree
		return i
	}
	q.items = append(q.items, item{})
	return uint32(len(q.items) - 1)
}

func (q *queue) release(i uint32) {
	it := &q.items[i]
	gen := it.gen + 1
	*it = item{gen: gen, nextFree: q.free}
	q.free = i
}

// push schedules slab item idx at virtual time at.
func (q *queue) push(at int64, idx uint32) {
	q.seq++
	e := hent{at: at, seq: q.seq, idx: idx}
	h := append(q.heap, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) >> 2
		if !e.less(&h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	q.heap = h
}

func (q *queue) peek() *hent { return &q.heap[0] }

// pop removes and returns the minimum entry; the heap must not be empty.
func (q *queue) pop() hent {
	h := q.heap
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	if n > 0 {
		i := 0
		for {
			c := i<<2 + 1
			if c >= n {
				break
			}
			m := c
			end := c + 4
			if end > n {
				end = n
			}
			for j := c + 1; j < end; j++ {
				if h[j].less(&h[m]) {
					m = j
				}
			}
			if !h[m].less(&last) {
				break
			}
			h[i] = h[m]
			i = m
		}
		h[i] = last
	}
	q.heap = h
	return top
}
