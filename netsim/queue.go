package netsim

// The event queue. Items live in a slab ([]item, recycled through a free
// list). Their order is kept by a calendar queue of small pointer-free
// entries (time, seq, slab index), ordered by (virtual time, sequence):
//
//   - near: a 4-ary min-heap holding every entry of the current bucket
//     (and anything scheduled into the past of the calendar's cursor);
//   - ring: nbuckets unsorted buckets of width 2^bucketShift ns covering the
//     next ~1 s of virtual time; scheduling is an append;
//   - far: a 4-ary min-heap for entries beyond the ring's horizon, migrated
//     into the ring as the cursor advances.
//
// A bucket is heapified into near when the cursor reaches it, so each entry
// costs an append plus a pop from a small, cache-resident heap, instead of
// O(log n) cache misses in one big heap. Nothing on the schedule/pop path
// allocates once the slab and buckets have grown to their working size. The
// order produced is exactly (time, seq), whatever the bucket width: the
// structure only affects speed, never the result.

type itemKind uint8

const (
	itemFree    itemKind = iota
	itemDeliver          // a message arriving at node
	itemTimer            // a node timer
	itemResume           // resume (or start) a coroutine
	itemWake             // node free again: run its next deferred item
	itemHarness          // Sim.At / Sim.After: not tied to a node
)

// item is one scheduled action (48 bytes). Node items carry the destination
// incarnation they were scheduled for; a mismatch at run time means the node
// crashed (and maybe restarted) in between, and the item is dropped.
// payload holds the message, or the func() of a timer or harness event, or
// the *coro of a resume.
type item struct {
	kind      itemKind
	cancelled bool   // timer stopped
	gen       uint32 // bumped on free, so stale Timer handles are detected
	from      NodeID // sender; next free slot while free
	inc       uint32
	size      int64
	node      *Node
	payload   any
}

// hent is a queue entry: 24 bytes, no pointers, so the GC never scans it.
type hent struct {
	at  int64
	seq uint64
	idx uint32
}

func (a *hent) less(b *hent) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

const (
	noFree      = ^uint32(0)
	bucketShift = 14 // 16.4 µs buckets
	nbuckets    = 1 << 16
	bucketMask  = nbuckets - 1 // horizon: 2^30 ns ≈ 1.07 s
)

type queue struct {
	items []item
	free  uint32 // head of the free list, noFree if empty
	seq   uint64
	n     int // entries queued

	near  []hent
	ring  [][]hent
	ringN int
	far   []hent
	cur   int64    // the bucket held in near
	pool  [][]hent // spare bucket arrays
	touch uint32   // sink of the prefetch loop in advance
}

func (q *queue) init() {
	q.free = noFree
	q.ring = make([][]hent, nbuckets)
}

func (q *queue) alloc() uint32 {
	if q.free != noFree {
		i := q.free
		q.free = uint32(q.items[i].from)
		return i
	}
	q.items = append(q.items, item{})
	return uint32(len(q.items) - 1)
}

func (q *queue) release(i uint32) {
	it := &q.items[i]
	*it = item{gen: it.gen + 1, from: NodeID(q.free)}
	q.free = i
}

func (q *queue) len() int { return q.n }

// push schedules slab item idx at virtual time at.
func (q *queue) push(at int64, idx uint32) {
	q.seq++
	q.n++
	e := hent{at: at, seq: q.seq, idx: idx}
	b := at >> bucketShift
	switch {
	case b <= q.cur:
		heapPush(&q.near, e)
	case b < q.cur+nbuckets:
		q.ringAppend(b, e)
	default:
		heapPush(&q.far, e)
	}
}

// peek returns the minimum entry, or nil if the queue is empty.
func (q *queue) peek() *hent {
	if len(q.near) == 0 && !q.advance() {
		return nil
	}
	return &q.near[0]
}

// pop removes and returns the minimum entry; the queue must not be empty.
func (q *queue) pop() hent {
	if len(q.near) == 0 && !q.advance() {
		panic("netsim: pop from an empty queue")
	}
	q.n--
	return heapPop(&q.near)
}

// advance moves the cursor to the next non-empty bucket and loads it into
// near; false if the queue is empty.
func (q *queue) advance() bool {
	for len(q.near) == 0 {
		if q.ringN == 0 {
			if len(q.far) == 0 {
				return false
			}
			q.cur = q.far[0].at >> bucketShift
			q.migrate()
			continue
		}
		q.cur++
		q.migrate()
		r := &q.ring[q.cur&bucketMask]
		if len(*r) == 0 {
			continue
		}
		b := *r
		q.ringN -= len(b)
		// Touch the slab items of the bucket: independent loads the CPU
		// overlaps, so the pops that follow find them in cache.
		var sink uint32
		for i := range b {
			sink += q.items[b[i].idx].gen
		}
		q.touch += sink
		// The bucket's array becomes near; near's (empty) array is kept
		// for reuse, so memory follows the non-empty buckets only.
		if cap(q.near) > 0 {
			q.pool = append(q.pool, q.near[:0])
		}
		q.near = b
		*r = nil
		heapify(q.near)
	}
	return true
}

func (q *queue) ringAppend(b int64, e hent) {
	r := &q.ring[b&bucketMask]
	if *r == nil && len(q.pool) > 0 {
		*r = q.pool[len(q.pool)-1]
		q.pool = q.pool[:len(q.pool)-1]
	}
	*r = append(*r, e)
	q.ringN++
}

// migrate moves far entries that entered the window [cur, cur+nbuckets).
func (q *queue) migrate() {
	lim := q.cur + nbuckets
	for len(q.far) > 0 && q.far[0].at>>bucketShift < lim {
		e := heapPop(&q.far)
		b := e.at >> bucketShift
		if b <= q.cur {
			heapPush(&q.near, e)
		} else {
			q.ringAppend(b, e)
		}
	}
}

// ---- 4-ary min-heap on []hent ----

func heapPush(hp *[]hent, e hent) {
	h := append(*hp, e)
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
	*hp = h
}

func heapPop(hp *[]hent) hent {
	h := *hp
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h = h[:n]
	if n > 0 {
		siftDown(h, 0, last)
	}
	*hp = h
	return top
}

// siftDown places e at position i of h, moving smaller children up.
func siftDown(h []hent, i int, e hent) {
	n := len(h)
	for {
		c := i<<2 + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if h[j].less(&h[m]) {
				m = j
			}
		}
		if !h[m].less(&e) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = e
}

func heapify(h []hent) {
	for i := (len(h) - 2) >> 2; i >= 0; i-- {
		siftDown(h, i, h[i])
	}
}
