package node

// Objects on the move: a reader's wait for an object (need, whenLocated),
// the GCS subscription that finds a copy, and the chunked pull that brings
// it here — with the retries that make lost publications, dead sources and
// partitions delays rather than hangs.

import (
	"math"
	"slices"
	"time"

	"raysim/runtime/objstore"
	"raysim/runtime/transport"
)

// waiter is told when an object it needs is in the local store (need). An
// interface, not a func: a Get of n objects hands out n pointers into one
// slice of its own, where n closures would cost n allocations.
type waiter interface {
	ready(e *objstore.Entry) // the object is here: e is its entry
}

// waitFunc is a waiter that calls a func.
type waitFunc func(*objstore.Entry)

func (f waitFunc) ready(e *objstore.Entry) { f(e) }

// fetchOf returns the fetch of an object readers here wait for, or nil. The
// store keeps it (objstore.Store.Await), beside the object's entry: the put
// that ends the fetch finds it without a map of its own.
func (r *Raylet) fetchOf(id transport.ObjectID) *fetch {
	fe, _ := r.store.Awaited(id).(*fetch)
	return fe
}

// need tells w once the object is in the local store, fetching it if
// needed. w is told from the loop, never synchronously from need.
func (r *Raylet) need(id transport.ObjectID, w waiter) { r.needInto(id, w, nil) }

// needInto is need with room for the object's fetch, if this is its first
// waiter (spare nil: a new one). A Get gives each of its refs room beside
// it: one allocation for all, and the wake that reads the fetch finds the
// ref it calls in the same cache line.
func (r *Raylet) needInto(id transport.ObjectID, w waiter, spare *fetch) {
	fe := r.fetchOf(id)
	if fe == nil {
		if spare == nil {
			spare = new(fetch)
		}
		fe = spare
		*fe = fetch{first: w}
		e := r.store.Await(id, fe)
		if t := r.localProducer(id); t != nil {
			fe.local = true // its task is queued or runs here: its put wakes us, no GCS round trip
			if id.Index == 0 {
				t.ret = e
			}
		} else {
			r.subscribe(id)
		}
		return
	}
	left := fe.first == nil // every reader left (unneed): w takes the fetch over
	if left {
		fe.first = w
	} else {
		if fe.more == nil {
			fe.more = new([]waiter)
		}
		*fe.more = append(*fe.more, w)
	}
	if l, ok := r.locations[id]; ok && !fe.pulling && len(l.Nodes) > 0 && l.Nodes[0] != r.self {
		r.pull(id, l.Nodes[0], fe)
	} else if _, asking := r.locating[id]; left && !asking && !fe.pulling && !fe.local {
		r.subscribe(id) // relocate stopped asking once the readers left
	}
}

// whenLocated calls w.f once the object exists anywhere (without
// fetching): at once if it is known to, else registered as w.
func (r *Raylet) whenLocated(id transport.ObjectID, w locWaiter) (registered bool) {
	if _, ok := r.locations[id]; ok || r.store.Contains(id) {
		w.f()
		return false
	}
	if !r.waited(id) && !r.producesLocally(id) {
		r.subscribe(id)
	}
	r.located[id] = append(r.located[id], w)
	return true
}

// locWaiter is one whenLocated registration; owner tells whose (a Wait's),
// so that its owner can take it back (forgetLocated).
type locWaiter struct {
	f     func()
	owner *bool
	spill bool // a deferred spill's (awaitArgs), which a free lets go
}

// forgetLocated takes back owner's registrations for ids (a Wait that
// ended without them: its timeout, its context, enough others ready), so
// that nothing stays registered, nor keeps asking the GCS where the object
// is, for a Wait long gone.
func (r *Raylet) forgetLocated(ids []transport.ObjectID, owner *bool) {
	for _, id := range ids {
		ws := r.located[id]
		kept := make([]locWaiter, 0, len(ws))
		for _, w := range ws {
			if w.owner != owner {
				kept = append(kept, w)
			}
		}
		if len(kept) == 0 {
			delete(r.located, id) // relocate stops asking once no one waits
		} else {
			r.located[id] = kept
		}
	}
}

// unneed takes back w's wait for an object (a Get that ended without it:
// its timeout, its context, an abandon, a cancel, an error among the other
// objects), as forgetLocated takes back a Wait's registrations, so that
// nothing stays registered for a Get long gone. w is compared by identity
// (a pointer: a Get's getRef). A fetch left with no waiter (first nil)
// stays, as the node's subscription at the GCS does: the object is still
// pulled here once it is located (a driver polling Get with a timeout
// finds it then, and a pull under way is not started over at every poll).
// But, as for a Wait's, the node stops asking where the object is
// (relocate), and news of its loss starts no rebuild (onObjectLost).
func (r *Raylet) unneed(id transport.ObjectID, w waiter) {
	if fe := r.fetchOf(id); fe != nil { // nil: here already, or never awaited
		r.unneedIf(fe, func(x waiter) bool { return x == w })
	}
}

// unneedIf takes back the waits of fe that match.
func (r *Raylet) unneedIf(fe *fetch, match func(waiter) bool) {
	if fe.more != nil {
		*fe.more = slices.DeleteFunc(*fe.more, match)
	}
	if fe.first != nil && match(fe.first) {
		fe.first = nil
		if fe.more != nil && len(*fe.more) > 0 { // the next in line comes first
			fe.first = (*fe.more)[0]
			*fe.more = slices.Delete(*fe.more, 0, 1)
		}
	}
}

// waited reports whether anyone here waits for an object: a reader (need)
// or a Wait (whenLocated).
func (r *Raylet) waited(id transport.ObjectID) bool {
	fe := r.fetchOf(id)
	return (fe != nil && fe.first != nil) || len(r.located[id]) > 0
}

func (r *Raylet) subscribe(id transport.ObjectID) {
	r.gcs.Send(r.cfg.Layout.ShardOfObject(id), r.subscription(id))
	if _, watching := r.locating[id]; !watching {
		first := locateRetryMin
		if r.buggify(BuggifyEarlyLocate) {
			first = 5 * time.Millisecond
		}
		r.locating[id] = first
		r.env.After(first, func() { r.relocate(id) })
	}
}

func (r *Raylet) relocate(id transport.ObjectID) {
	fe := r.fetchOf(id)
	wanted := (fe == nil || !fe.pulling) && r.waited(id) // a pull under way asks again if it fails
	if !wanted || r.store.Contains(id) {
		delete(r.locating, id)
		return
	}
	d := min(2*r.locating[id], locateRetryMax)
	r.locating[id] = d
	r.gcs.Send(r.cfg.Layout.ShardOfObject(id), r.subscription(id))
	r.env.After(d, func() { r.relocate(id) })
}

// subscription asks the object table where an object is, avoiding the
// source of a pull of it that stalled (a copy cut off from here).
func (r *Raylet) subscription(id transport.ObjectID) *transport.GcsSubscribeObject {
	m := &transport.GcsSubscribeObject{Object: id}
	if fe := r.fetchOf(id); fe != nil && fe.pull != nil {
		m.Avoid = fe.avoid
	}
	return m
}

func (r *Raylet) onLocated(m *transport.ObjectLocated) {
	l := r.locations[m.Object]
	l.Object, l.Size = m.Object, m.Size
	if !containsNode(l.Nodes, m.Node) {
		l.Nodes = append(l.Nodes, m.Node)
	}
	r.locations[m.Object] = l
	if ws, ok := r.located[m.Object]; ok {
		delete(r.located, m.Object)
		for _, w := range ws {
			w.f()
		}
	}
	fe := r.fetchOf(m.Object)
	if fe == nil || fe.pulling || r.store.Contains(m.Object) {
		return
	}
	if m.Node == r.self { // stale: the GCS thinks we have it but we do not
		r.env.After(time.Millisecond, func() {
			if r.fetchOf(m.Object) == fe && !fe.pulling {
				r.subscribe(m.Object)
			}
		})
		return
	}
	r.pull(m.Object, m.Node, fe)
}

func containsNode(ns []transport.NodeID, n transport.NodeID) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

// pull asks from for the chunks of the object this node lacks. A source
// that has sent nothing since it was asked for all of them is asked for one
// only (a probe): its link may be slow, or busy with other pulls, rather
// than the request lost, and asking for everything again would queue the
// object a second time behind the first.
func (r *Raylet) pull(id transport.ObjectID, from transport.NodeID, fe *fetch) {
	r.Stats.PullsStarted++
	now := r.since()
	if fe.pull == nil {
		fe.pull = &pull{started: now}
	}
	probe := fe.unanswered && fe.source == from
	fe.source, fe.pulling, fe.progress, fe.probing = from, true, now, probe
	fe.heardAt, fe.fresh = r.heard[from], true
	fe.unanswered = true
	fe.short = r.buggify(BuggifyShortPull)
	fe.attempt++
	r.send(from, &transport.PullRequest{Object: id, Chunks: fe.missing(probe)})
	r.watchPull(id, fe)
}

// missing returns the ranges of chunks the pull lacks (nil: all), or the
// first of them only (probe).
func (p *pull) missing(probe bool) []transport.ChunkRange {
	if p.seen == nil {
		if probe {
			return []transport.ChunkRange{{First: 0, End: 1}}
		}
		return nil
	}
	var rs []transport.ChunkRange
	for i := 0; i < len(p.seen); {
		if p.seen[i] {
			i++
			continue
		}
		j := i + 1
		for j < len(p.seen) && !p.seen[j] {
			j++
		}
		switch {
		case probe:
			return []transport.ChunkRange{{First: uint32(i), End: uint32(i + 1)}}
		case len(rs) == transport.MaxPullRanges-1: // the span of the rest
			return append(rs, transport.ChunkRange{First: uint32(i), End: uint32(len(p.seen))})
		}
		rs = append(rs, transport.ChunkRange{First: uint32(i), End: uint32(j)})
		i = j
	}
	return rs
}

// watchPull retries a pull that makes no progress for a while: from a fresh
// location (a lost message, a dead or partitioned source), avoiding the
// source that stalled if the object has another copy. How long a while
// grows with the longest wait between chunks seen so far (a slow link) and
// with the attempts that got nothing (backoff), counted from the last
// chunk; and a pull waits on while its source's link brings chunks of
// other objects (queued behind them), up to pullBusyMax from its last
// chunk. One timer per pull at a time (fe.watch): a call re-arms it.
//
// The timer finds the fetch by the object's ID and its watch number
// (unique on the raylet), not by a pointer: a fetch lives inside its Get
// (needInto), and a timer holding it would hold the Get's values for as
// long as the timer waits, up to pullBusyMax after the pull is done.
func (r *Raylet) watchPull(id transport.ObjectID, fe *fetch) {
	r.pullWatches++
	w := r.pullWatches
	fe.watch = w
	r.env.After(max(r.pullDeadline(fe)-r.since(), 0), func() {
		fe := r.fetchOf(id)
		if fe == nil || fe.pull == nil || !fe.pulling || fe.watch != w {
			return
		}
		if r.since() < r.pullDeadline(fe) { // a chunk since, or the link busy: wait on
			r.watchPull(id, fe)
			return
		}
		fe.stalls++
		fe.pulling, fe.avoid = false, fe.source
		r.subscribe(id)
	})
}

// pullDeadline is when the pull under way stalls, as its chunks and its
// source's link tell now (see watchPull).
func (r *Raylet) pullDeadline(fe *fetch) time.Duration {
	base := pullTimeout
	if fe.short {
		base = 10 * time.Millisecond
	}
	timeout := min(max(base<<min(fe.stalls, maxPullBackoff), 2*fe.gap), pullBusyMax)
	d := fe.progress + timeout
	if h, ok := r.heard[fe.source]; ok && h > fe.progress {
		d = max(d, min(h+timeout, fe.progress+pullBusyMax))
	}
	return d
}

// localOnly reports whether a copy stands here for this node's readers
// only, and is neither announced (putNotify) nor served (servePull):
// ErrObjectTooLarge in place of a pulled object this store cannot hold.
// It tells of this store, not of the object, which a node with a larger
// store can hold: served, it would reach such a node as the object. (A
// pulled copy of ErrObjectTooLarge made by the object's task, where the
// task's node could not hold its result, looks the same and stays local
// too: its readers elsewhere pull the primary copy.)
func localOnly(v transport.Value, primary bool) bool {
	return !primary && v.ErrKind == transport.ErrKindObjectTooLarge
}

// queuedPull is a pull request waiting in serveQ: who asked, and what.
type queuedPull struct {
	to transport.NodeID
	m  *transport.PullRequest
}

// onPull serves a pull now, or queues it (serveQ) while the loop is
// behind: while earlier pulls wait there, or once the heartbeat timer is
// overdue, which means it waits on this loop behind the messages that
// came before it. Serving a pull copies its bytes out (object_per_mb, 6.4
// ms for 64 MiB) on this one loop, and a burst of pulls of large objects
// (a shuffle's reducers asking a node for hundreds of partitions at once)
// queued seconds of it ahead of the heartbeat: the GCS declared the node
// dead for missed heartbeats and dropped its copies, its Puts lost with
// them. Queued, the pulls are served one per turn of the loop (drainPulls),
// the heartbeat, its answer and other messages in between, as Ray serves
// pulls on the object manager's own threads, apart from the raylet's main
// loop. A loop that is not behind serves at once, as before.
func (r *Raylet) onPull(to transport.NodeID, m *transport.PullRequest) {
	if len(r.serveQ) == 0 && (r.beatDue == 0 || r.since() <= r.beatDue) {
		r.servePull(to, m)
		return
	}
	r.serveQ = append(r.serveQ, queuedPull{to: to, m: m})
	if len(r.serveQ) == 1 {
		r.env.After(0, r.drainPulls)
	}
}

// drainPulls serves the first queued pull and, while more wait, comes
// back for the next on a later turn: behind whatever arrived meanwhile.
func (r *Raylet) drainPulls() {
	if len(r.serveQ) == 0 {
		return
	}
	q := r.serveQ[0]
	r.serveQ[0] = queuedPull{}
	r.serveQ = r.serveQ[1:]
	if len(r.serveQ) == 0 {
		r.serveQ = nil // let the backing array go
	}
	r.servePull(q.to, q.m)
	if len(r.serveQ) > 0 {
		r.env.After(0, r.drainPulls)
	}
}

// servePull sends the chunks a pull asks for of a copy held here. Serving
// is no read of the copy by this node: it is looked up without touching
// the LRU order (Peek). Every chunk is sent within this call, each holding
// its share of the value (immutable), so the copy needs no pin while it is
// served: evicted a moment later, it is still what the chunks carry.
func (r *Raylet) servePull(to transport.NodeID, m *transport.PullRequest) {
	id := m.Object
	e, ok := r.store.Peek(id)
	if !ok || e.Freed() || localOnly(e.Value, e.Primary) {
		r.send(to, &transport.PullFailed{Object: id})
		// Whoever sent the reader here had a stale location (the copy was
		// freed, evicted or lost with a crash in a way the GCS missed, or
		// is one this node's readers alone may read: a freed copy a task
		// here still reads, too): correct it, or the reader would be sent
		// back here forever.
		r.gcs.Send(r.cfg.Layout.ShardOfObject(id), &transport.GcsRemoveObject{Object: id, Node: r.self, Incarnation: r.cfg.Incarnation})
		return
	}
	if e.Spilled() { // read back from the spill tier to be sent
		r.restore(e)
	}
	v := e.Value
	total, chunk := v.SizeOf(), r.cfg.ChunkBytes
	chunks := max((total+chunk-1)/chunk, 1)
	ranges := m.Chunks
	if len(ranges) == 0 {
		ranges = []transport.ChunkRange{{First: 0, End: uint32(min(chunks, 1<<32-1))}}
	}
	var sent int64
	// The value's real bytes lead, its virtual bytes (a Blob's) follow;
	// each chunk carries its share of both. (Chunk 0 carried every real
	// byte: an object of 8 MiB or more of them was a message larger than
	// a TCP frame, dropped on every pull, and its readers waited for good.)
	// Ranges are taken in order, each from where the last ended: a request
	// naming a chunk twice gets it once.
	if m.Chunks != nil && int64(m.Chunks[0].First) >= chunks {
		// Chunks of a larger copy than this one (the object was rebuilt
		// since): chunk 0 tells the puller this copy's size.
		ranges = []transport.ChunkRange{{First: 0, End: 1}}
	}
	next := int64(0)
	sum := r.store.ChunkSum(e, chunk) // once per copy: only values of real bytes past a chunk have one
	for _, rg := range ranges {
		for i := max(int64(rg.First), next); i < min(int64(rg.End), chunks); i++ {
			off := i * chunk
			n := min(chunk, total-off)
			c := &transport.ObjectChunk{Object: id, Offset: off, Total: total, ErrKind: v.ErrKind, Causes: v.Causes, Sum: sum}
			if dl := int64(len(v.Data)); off < dl {
				c.Data = v.Data[off:min(off+n, dl)]
				n -= int64(len(c.Data))
			}
			c.Virtual = max(n, 0)
			r.send(to, c)
			sent += min(chunk, total-off)
			next = i + 1
		}
	}
	r.env.Charge(r.cfg.Costs.ObjectGet + r.cfg.Costs.Copy(sent))
	r.Stats.BytesOut += sent
}

func (r *Raylet) onChunk(from transport.NodeID, m *transport.ObjectChunk) {
	now := r.since()
	before := r.heard[from]
	r.heard[from] = now // its link is alive (watchPull), whatever the chunk
	fe := r.fetchOf(m.Object)
	// A chunk of the source's that comes after its attempt timed out is
	// still the object's: kept, not asked for again.
	if fe == nil || fe.pull == nil || fe.source != from || r.store.Contains(m.Object) {
		return
	}
	// A chunk of another copy than the one counted: a rebuild's since
	// (another size or kind), or a copy of another run of the task with
	// other real bytes (Sum), which a node that pulled the run before a
	// rebuild may still serve (the object freed or lost, then rebuilt,
	// while that node's pull of the first run went on), or whose chunks a
	// link delivers late (reordered, or held by TCP behind a budget of
	// payloads while later messages pass them). Joined, they would make a
	// value neither run made: start over.
	restart := fe.seen != nil && (m.Total != fe.total || m.ErrKind != fe.errKind || m.Sum != fe.sum)
	if restart {
		fe.seen, fe.data, fe.got = nil, nil, 0
	}
	if fe.seen == nil {
		// The source chooses Total: count its chunks without overflow, and
		// refuse more than a pull may have before allocating for them.
		chunks := m.Total / r.cfg.ChunkBytes
		if m.Total%r.cfg.ChunkBytes != 0 || chunks == 0 {
			chunks++
		}
		if chunks > maxPullChunks {
			r.onPullFailed(from, m.Object) // as if it had no copy: another is looked for
			return
		}
		fe.seen = make([]bool, chunks)
		fe.total, fe.errKind, fe.causes, fe.sum = m.Total, m.ErrKind, m.Causes, m.Sum
	}
	i := int(m.Offset / r.cfg.ChunkBytes)
	if i < 0 || i >= len(fe.seen) || fe.seen[i] || int64(len(m.Data)) > r.cfg.ChunkBytes || m.Offset+int64(len(m.Data)) > fe.total {
		return // duplicate or hostile
	}
	fe.seen[i] = true
	fe.got++
	// The wait for a chunk counts toward the stall timeout when it was the
	// link's own: from the last chunk, or from the request if nothing else
	// came from the source meanwhile (chunks of objects queued ahead).
	if !fe.fresh || before == fe.heardAt {
		fe.gap = max(fe.gap, now-fe.progress)
	}
	probed := fe.probing
	fe.progress, fe.stalls, fe.unanswered, fe.probing, fe.fresh = now, 0, false, false, false
	if len(m.Data) > 0 {
		// Real bytes go where the chunk says (they lead the object: see
		// servePull); the buffer grows to the last of them.
		if m.Offset == 0 && fe.data == nil {
			fe.data = m.Data[:len(m.Data):len(m.Data)] // growing it must not write into the message's array
		} else {
			if end := m.Offset + int64(len(m.Data)); int64(len(fe.data)) < end {
				fe.data = append(fe.data, make([]byte, end-int64(len(fe.data)))...)
			}
			copy(fe.data[m.Offset:], m.Data)
		}
	}
	if fe.got < int64(len(fe.seen)) {
		switch {
		case restart && fe.pulling:
			r.pull(m.Object, from, fe) // the rest of the new copy, at once
		case probed && fe.pulling:
			r.watchPull(m.Object, fe) // the probe is answered: the rest, unless it comes, a timeout from now
		}
		return
	}
	r.Stats.PullsDone++ // the fetch ends when the put wakes its readers
	r.Stats.BytesIn += fe.total
	r.sampleBandwidth(fe.total, r.since()-fe.started)
	r.emit(transport.Event{Kind: transport.EvObjectTransferred, Node: r.self, Peer: from, Object: m.Object, Bytes: fe.total})
	r.env.Charge(r.cfg.Costs.Copy(fe.total)) // the object manager writes the pulled bytes in
	r.put(m.Object, transport.Value{Data: fe.data, Size: fe.total, ErrKind: fe.errKind, Causes: fe.causes}, false)
}

// sampleBandwidth folds a finished pull of n bytes that took d into the
// node's mean bandwidth. Only pulls of at least a chunk count: a small
// object's transfer time is the network's latency, not its bandwidth.
func (r *Raylet) sampleBandwidth(n int64, d time.Duration) {
	if n < r.cfg.ChunkBytes || d <= 0 {
		return
	}
	bw := uint64(min(float64(n)/d.Seconds(), math.MaxUint64/8))
	if r.meanBW == 0 {
		r.meanBW = bw
	} else {
		r.meanBW = (7*r.meanBW + bw) / 8
	}
}

// onPullFailed takes a source's word that it has no copy to give (from:
// the source). Only the source of the pull under way is heard: an answer
// to an earlier attempt (a PullFailed from a source whose pull timed out,
// which has evicted its copy since) must not abort the pull from another
// node, strike that node from the locations and drop its chunks.
func (r *Raylet) onPullFailed(from transport.NodeID, id transport.ObjectID) {
	fe := r.fetchOf(id)
	if fe == nil || fe.pull == nil || !fe.pulling || fe.source != from {
		return // never pulled, or not pulling from there: a stale or stray answer
	}
	fe.pulling = false
	if l, ok := r.locations[id]; ok {
		l.Nodes = deleteNode(l.Nodes, fe.source)
		r.locations[id] = l
	}
	r.env.After(time.Millisecond, func() {
		if r.fetchOf(id) == fe && !fe.pulling {
			r.subscribe(id)
		}
	})
}

func deleteNode(ns []transport.NodeID, n transport.NodeID) []transport.NodeID {
	out := ns[:0]
	for _, x := range ns {
		if x != n {
			out = append(out, x)
		}
	}
	return out
}

// maxPullChunks bounds the chunks of one pull (1 TiB at the default 1 MiB
// chunk size): a source's first chunk sizes the pull's record of the
// chunks seen, and a Total of 2^62 would ask for terabytes.
const maxPullChunks = 1 << 20

// pullTimeout is how long a pull may make no progress before it is retried
// from a fresh location (a lost message, a dead or partitioned source), at
// first: see watchPull.
const pullTimeout = time.Second

// maxPullBackoff bounds the doublings of pullTimeout after attempts that
// got nothing (4 s), and pullBusyMax how long a pull may go without a chunk
// at all: however busy its source's link, a lost request is asked again.
const (
	maxPullBackoff = 2
	pullBusyMax    = 30 * time.Second
)

// Locating an object is retried with backoff while it is still wanted and
// no copy has been found: a lost publication or a GCS failover must not
// leave a reader waiting forever.
const (
	locateRetryMin = time.Second
	locateRetryMax = 30 * time.Second
)
