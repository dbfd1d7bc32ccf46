package netsim

import "math"

// The event queue: a calendar queue that stores the items themselves,
// ordered by (virtual time, sequence):
//
//   - ring: nbuckets buckets of width 2^bucketShift ns covering the next
//     ~4 s of virtual time, each an unsorted list of fixed-size chunks of
//     items (recycled through a free list: a bucket grows without copying);
//     scheduling appends the item to a small staging batch, flushed to the
//     buckets stageSize at a time;
//   - near: the current bucket's chunks, plus anything scheduled into it (or
//     into the past of the calendar's cursor) since. Small pointer-free
//     (time, seq, slot) entries order them: the bucket's own, radix-sorted
//     once when it is loaded, merged with a 4-ary min-heap of those
//     scheduled into near afterwards; popped slots are recycled;
//   - far: items beyond the ring's horizon, in a slab, ordered by a 4-ary
//     min-heap of (time, seq, slot) entries (the same heap as near's);
//     migrated into the ring as the cursor advances.
//
// A bucket becomes near when the cursor reaches it: building and sorting
// its index reads the bucket once, sequentially, so the pops that follow
// find their items in cache, and a pop is mostly a step along an array. An
// item is written once at scheduling time and read once when it runs, in
// the same place: there is no separate slab to miss in.
// Nothing on the schedule/pop path allocates once the chunks have grown to
// their working number. The order produced is exactly (time, seq), whatever
// the bucket width: the structure only affects speed, never the result.

type itemKind uint8

const (
	itemFree      itemKind = iota
	itemDeliver            // a message arriving at node
	itemDeliverTx          // the same, re-timable: payload *txMsg (see retime)
	itemTimer              // a node timer (payload *timer)
	itemResume             // resume (or start) a coroutine (payload *coro)
	itemWake               // node free again: run its next deferred item
	itemHarness            // Sim.At / Sim.After (payload func()): not tied to a node
)

// item is one scheduled action: 48 bytes, so four items fill three cache
// lines (the queue moves and sorts them by the million: at 56 bytes the
// 100-node run was ~10% slower). Node items carry the destination
// incarnation they were scheduled for; a mismatch at run time means the
// node crashed (and maybe restarted) in between, and the item is dropped.
// payload holds the message, the func() of a harness event, the *timer of
// a timer or the *coro of a resume. An item has no sequence number of its
// own: where the order among equal times needs one (near's heap, far), the
// entry that indexes the item carries it; a ring bucket keeps its items in
// sequence order instead.
type item struct {
	at      int64
	payload any
	size    int64
	nk      uint32 // the destination's dense index (Sim.all, < 1<<24) and, in the top byte, the item's kind
	src     uint32 // a delivery: the sender's dense index
	incs    uint32 // the destination's incarnation (low 16 bits) and a delivery's sender's (high 16), mod 2^16
	ago     uint32 // a delivery: ns from leaving its sender to arriving (at most ~4.3s: see left)
}

func (it *item) kind() itemKind { return itemKind(it.nk >> 24) }
func (it *item) node() uint32   { return it.nk & (1<<24 - 1) }

// set makes it an item of kind k for node index idx.
func (it *item) set(k itemKind, idx int) { it.nk = uint32(k)<<24 | uint32(idx) }

func (it *item) setKind(k itemKind) { it.nk = uint32(k)<<24 | it.node() }

// dinc and sinc are the destination's and (a delivery's) sender's
// incarnations, mod 2^16: a node restarted 65,536 times while an item of
// its waits would pass for its old self.
func (it *item) dinc() uint16 { return uint16(it.incs) }
func (it *item) sinc() uint16 { return uint16(it.incs >> 16) }

// left is when a delivery had left its sender (departed and transmitted;
// see Sim.unsent). Its distance to arrival (latency, extra delay, jitter)
// is kept in 32 bits; a distance of ~4.3s or more saturates, and left then
// reads as long ago (math.MinInt64): a crash of the sender spares such a
// message even in the rare case it had not left yet.
func (it *item) left() int64 {
	if it.ago == math.MaxUint32 {
		return math.MinInt64
	}
	return it.at - int64(it.ago)
}

func (it *item) setLeft(left int64) { it.ago = uint32(min(max(it.at-left, 0), math.MaxUint32)) }

// hent is an entry of near's index or of far: 24 bytes, no pointers. The
// entries of the loaded bucket (sorted) leave seq zero: every one of them
// was scheduled before anything in near's heap (nidx), so among equal times
// they come first.
type hent struct {
	at  int64
	seq uint64
	idx uint32 // slot in near
}

func (a *hent) less(b *hent) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

const (
	bucketShift = 16 // 65.5 µs buckets
	nbuckets    = 1 << 16
	bucketMask  = nbuckets - 1 // horizon: 2^32 ns ≈ 4.3 s

	// A bucket's time offsets (bucketShift bits) sort in two radix passes.
	radixBits = (bucketShift + 1) / 2
	radixSize = 1 << radixBits
	radixMask = radixSize - 1
)

// Buckets are lists of fixed-size chunks, recycled through a free list: a
// bucket grows without copying, and memory follows the items queued.
// Loading a bucket walks its chunk list, one dependent (and likely cold)
// load per chunk: 31 items a chunk keep that walk short.
const (
	chunkBits = 5
	chunkN    = 1<<chunkBits - 1 // 31 items + header: a 1536 B size class
	chunkMask = 1<<chunkBits - 1
)

type chunk struct {
	items [chunkN]item
	n     int
	next  *chunk
}

// bucket is one ring slot. It keeps its tail chunk's count itself (the
// chunk's own n is only set when the bucket is loaded): appending then
// touches the slot and the item's line, not the chunk's header as well, a
// third cold line per item.
type bucket struct {
	head, tail *chunk
	tn         int // items in tail
}

type queue struct {
	seq uint64
	n   int // items queued

	near   []*chunk // current bucket; slot = chunk index<<chunkBits | offset
	nfree  []uint32 // free slots of near
	sorted []hent   // the loaded bucket's entries in (at, seq) order
	spos   int      // next entry of sorted
	nidx   []hent   // 4-ary min-heap: entries scheduled into near since
	// now holds, in sequence order, the entries scheduled at the time of
	// the last pop (last) since it was popped: a resumption, a zero-delay
	// timer, a zero-latency message. Each comes after every entry of
	// sorted and nidx at that time (those were all scheduled before last
	// was reached), so they queue in a FIFO instead of the heap, where each
	// cost a push and a pop of ~log4(len) levels (siftDown was ~5% of the
	// 100-node run's instructions). The order is still exactly (at, seq).
	now   []hent
	npos  int    // next entry of now
	last  int64  // the greatest time popped (math.MinInt64: none yet)
	tmp   []hent // radix sort scratch
	ring  []bucket
	ringN int      // items in the ring, staged ones included
	stage []item   // ring items not yet appended to their bucket
	far   []hent   // 4-ary min-heap of the far items' entries
	fars  []item   // far items by slot (far entries' idx)
	ffree []uint32 // free slots of fars
	cur   int64    // the bucket held in near
	spare *chunk   // free chunks
}

func (q *queue) init() {
	q.ring = make([]bucket, nbuckets)
	q.last = math.MinInt64
}

// freeChunk returns c (whose items hold no pointers) to the free list.
func (q *queue) freeChunk(c *chunk) {
	c.next = q.spare
	q.spare = c
}

func (q *queue) newChunk() *chunk {
	c := q.spare
	if c == nil {
		return new(chunk)
	}
	q.spare = c.next
	c.next = nil
	c.n = 0
	return c
}

func (q *queue) len() int { return q.n }

// add schedules an item at virtual time at and returns it, its time and
// sequence set and every other field zero, for the caller to fill in at
// once (the pointer is valid until the next queue operation).
func (q *queue) add(at int64) *item {
	q.seq++
	q.n++
	if at == q.last {
		return q.placeNow(at, q.seq)
	}
	return q.place(at, q.seq)
}

// nearSlot takes a free slot of near for a new item.
func (q *queue) nearSlot() uint32 {
	if k := len(q.nfree); k > 0 {
		slot := q.nfree[k-1]
		q.nfree = q.nfree[:k-1]
		return slot
	}
	k := len(q.near)
	if k == 0 || q.near[k-1].n == chunkN {
		q.near = append(q.near, q.newChunk())
		k++
	}
	c := q.near[k-1]
	slot := uint32(k-1)<<chunkBits | uint32(c.n)
	c.n++
	return slot
}

// placeNow stores a zero item at the time of the last pop (key (at, seq),
// seq the newest) at the back of now.
func (q *queue) placeNow(at int64, seq uint64) *item {
	slot := q.nearSlot()
	q.now = append(q.now, hent{at: at, seq: seq, idx: slot})
	it := &q.near[slot>>chunkBits].items[slot&chunkMask]
	*it = item{}
	it.at = at
	return it
}

// place stores a zero item with key (at, seq) where it belongs.
func (q *queue) place(at int64, seq uint64) *item {
	b := at >> bucketShift
	var it *item
	switch {
	case b <= q.cur:
		slot := q.nearSlot()
		heapPush(&q.nidx, hent{at: at, seq: seq, idx: slot})
		it = &q.near[slot>>chunkBits].items[slot&chunkMask]
		*it = item{}
	case b < q.cur+nbuckets:
		if len(q.stage) == stageSize {
			q.flush()
		}
		q.stage = append(q.stage, item{})
		q.ringN++
		it = &q.stage[len(q.stage)-1]
	default:
		var slot uint32
		if k := len(q.ffree); k > 0 {
			slot = q.ffree[k-1]
			q.ffree = q.ffree[:k-1]
		} else {
			slot = uint32(len(q.fars))
			q.fars = append(q.fars, item{})
		}
		heapPush(&q.far, hent{at: at, seq: seq, idx: slot})
		it = &q.fars[slot]
		*it = item{}
	}
	it.at = at
	return it
}

// peekAt returns the time of the minimum item; false if the queue is empty.
func (q *queue) peekAt() (int64, bool) {
	if q.nearEmpty() && !q.advance() {
		return 0, false
	}
	return q.nearMin().at, true
}

// pop removes the minimum item into out; the queue must not be empty.
func (q *queue) pop(out *item) {
	if q.nearEmpty() && !q.advance() {
		panic("netsim: pop from an empty queue")
	}
	q.n--
	var e hent
	if q.npos < len(q.now) && q.nowFirst() {
		e = q.now[q.npos]
		q.npos++
		if q.npos == len(q.now) {
			q.now, q.npos = q.now[:0], 0
		}
	} else if q.spos < len(q.sorted) && (len(q.nidx) == 0 || q.sorted[q.spos].at <= q.nidx[0].at) {
		e = q.sorted[q.spos]
		q.spos++
	} else {
		e = heapPop(&q.nidx)
	}
	q.last = max(q.last, e.at)
	it := &q.near[e.idx>>chunkBits].items[e.idx&chunkMask]
	*out = *it
	it.payload = nil // let the GC have it
	q.nfree = append(q.nfree, e.idx)
}

// stageSize: ring items are appended to their buckets in batches of this
// many. A bucket's tail is cold (last written ~a horizon's worth of events
// ago); appending a batch back to back lets the CPU overlap those misses
// instead of stalling on each one in turn.
const stageSize = 128

// flush appends the staged items to their buckets.
func (q *queue) flush() {
	for i := range q.stage {
		e := &q.stage[i]
		bk := &q.ring[(e.at>>bucketShift)&bucketMask]
		t := bk.tail
		if t == nil || bk.tn == chunkN {
			c := q.newChunk()
			if t == nil {
				bk.head = c
			} else {
				t.next = c
			}
			bk.tail, bk.tn, t = c, 0, c
		}
		t.items[bk.tn] = *e
		bk.tn++
	}
	// The staged copies are not cleared: the next batch overwrites them, so
	// at most stageSize payloads stay reachable a little longer.
	q.stage = q.stage[:0]
}

// advance moves the cursor to the next non-empty bucket and makes it near;
// false if the queue is empty.
func (q *queue) advance() bool {
	for q.nearEmpty() {
		q.flush()
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
		q.flush()
		bk := &q.ring[q.cur&bucketMask]
		if bk.head == nil {
			continue
		}
		q.load(bk)
	}
	return true
}

// load makes bucket bk the near set (near is empty: every slot was popped,
// and so cleared, and its chunks go back to the free list).
func (q *queue) load(bk *bucket) {
	for i, c := range q.near {
		q.freeChunk(c)
		q.near[i] = nil
	}
	near := q.near[:0]
	idx := q.sorted[:0]
	for c := bk.head; c != nil; c = c.next {
		ci := uint32(len(near)) << chunkBits
		near = append(near, c)
		c.n = chunkN
		if c == bk.tail {
			c.n = bk.tn
		}
		q.ringN -= c.n
		for j := range c.items[:c.n] {
			it := &c.items[j]
			idx = append(idx, hent{at: it.at, idx: ci | uint32(j)})
		}
	}
	*bk = bucket{}
	q.near = near
	q.nfree = q.nfree[:0]
	q.tmp = sortBucket(idx, q.tmp, q.cur<<bucketShift)
	q.sorted, q.spos = idx, 0
	if debugQueue {
		for i := 1; i < len(idx); i++ {
			if idx[i-1].at > idx[i].at {
				panic("netsim: bucket not sorted")
			}
		}
	}
}

// debugQueue makes load check its sort (set by the tests).
var debugQueue bool

func (q *queue) nearEmpty() bool {
	return q.spos == len(q.sorted) && len(q.nidx) == 0 && q.npos == len(q.now)
}

// nowFirst reports whether now's first entry (now must not be empty) comes
// before sorted's and nidx's: their entries at its time are older, so it
// does when neither has one at or before it.
func (q *queue) nowFirst() bool {
	at := q.now[q.npos].at
	return (q.spos == len(q.sorted) || q.sorted[q.spos].at > at) && (len(q.nidx) == 0 || q.nidx[0].at > at)
}

// nearMin is near's minimum entry; near must not be empty.
func (q *queue) nearMin() *hent {
	if q.npos < len(q.now) && q.nowFirst() {
		return &q.now[q.npos]
	}
	if q.spos < len(q.sorted) && (len(q.nidx) == 0 || q.sorted[q.spos].at <= q.nidx[0].at) {
		return &q.sorted[q.spos]
	}
	return &q.nidx[0]
}

// sortBucket sorts the entries of one bucket (base is its start time) into
// (at, seq) order. A bucket's chunks hold its items in sequence order among
// equal times (the far items migrated into it come first, in (at, seq)
// order, then every item scheduled into it directly, in scheduling order),
// so a stable sort on the bucketShift-bit time offset alone is enough: an LSD radix
// sort in two passes of radixBits, or insertion sort for small buckets.
func sortBucket(a, tmp []hent, base int64) []hent {
	n := len(a)
	if n <= 32 {
		for i := 1; i < n; i++ {
			e := a[i]
			j := i
			for ; j > 0 && e.at < a[j-1].at; j-- {
				a[j] = a[j-1]
			}
			a[j] = e
		}
		return tmp
	}
	if cap(tmp) < n {
		tmp = make([]hent, n)
	}
	tmp = tmp[:n]
	var c0, c1 [radixSize]int32
	for i := range a {
		d := a[i].at - base
		c0[d&radixMask]++
		c1[(d>>radixBits)&radixMask]++
	}
	var s0, s1 int32
	for i := range c0 {
		s0, c0[i] = s0+c0[i], s0
		s1, c1[i] = s1+c1[i], s1
	}
	for i := range a {
		d := (a[i].at - base) & radixMask
		tmp[c0[d]] = a[i]
		c0[d]++
	}
	for i := range tmp {
		d := ((tmp[i].at - base) >> radixBits) & radixMask
		a[c1[d]] = tmp[i]
		c1[d]++
	}
	return tmp
}

// migrate moves far items that entered the window [cur, cur+nbuckets).
func (q *queue) migrate() {
	lim := q.cur + nbuckets
	for len(q.far) > 0 && q.far[0].at>>bucketShift < lim {
		e := heapPop(&q.far)
		it := q.fars[e.idx]
		q.fars[e.idx] = item{} // let the GC have its payload
		q.ffree = append(q.ffree, e.idx)
		*q.place(e.at, e.seq) = it
	}
}

// ---- the 4-ary min-heap of entries: near's index and far ----

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
