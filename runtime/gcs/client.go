package gcs

import (
	"slices"
	"time"

	"raysim/runtime/transport"
)

// Client is how a component talks to the GCS. On an unreplicated GCS it is
// a plain Send to the shard. On chains it wraps each operation in a
// GcsRequest with a sequence number, sends writes to the shard's head and
// reads (GcsGetTask, GcsListNames) to its tail, keeps every request until
// the tail acknowledges it, and re-sends what is unacknowledged when the
// chain is reconfigured or after RetryTimeout — so a member's death is a
// delay, never a lost write. Heartbeats are sent unacknowledged (the next
// one replaces a lost one). A read that must see the client's own writes
// (readsOwnWrites) waits until the tail has acknowledged every write sent
// to its shard before it: a read sent at once could reach the tail before
// them (they go through the chain), and miss them.
//
// The owner forwards GcsAck and ChainConfig messages to Handle.
type Client struct {
	env    transport.Env
	clock  transport.Clock // requests' times, on the monotonic clock
	layout *Layout
	chains []clientChain
	// RetryTimeout is how long a request may stay unacknowledged before it
	// is re-sent and the master asked for the current chain (default 30ms).
	RetryTimeout time.Duration
	// Loopback delivers a request addressed to the client's own endpoint
	// (a chain replica is a client of its own shard).
	Loopback func(m transport.Message)
	// Epoch is the owner's incarnation, carried in every request: a chain
	// compares sequence numbers within one epoch, and takes a later one for
	// a restarted client (0: the owner has none).
	Epoch uint64

	seq, low uint64
	pending  map[uint64]*request
	timer    transport.Timer
	// waiting are the reads held for the client's earlier writes
	// (readsOwnWrites), in the order sent.
	waiting []*request

	// While holding (Hold), task specs for each shard (by index) wait to
	// leave together.
	holding   bool
	held      []*transport.GcsAddTasks // nil, or a batch being built
	meter     bool                     // env meters the wire: Add measures each spec
	heldBytes []int                    // about what each shard's held specs take on the wire
	coming    []int                    // specs announced to Hold not yet added, per shard

	// Object locations (AddObject) for each shard wait to leave together
	// until the flush timer runs, armed by the first of them.
	objs         [][]transport.GcsAddObject
	objsLast     []int // the length of each shard's last batch: the next one's room
	objsArmed    bool
	batchObjects bool // env is a transport.QueuedTimer

	Stats ClientStats
}

// ClientStats are a client's counters.
type ClientStats struct {
	Requests, Acked, Resent int
	// MaxDelay is the longest time from a request's first send to its
	// acknowledgement: the client-observed delay of a chain failover.
	MaxDelay time.Duration
}

type clientChain struct {
	epoch   uint64
	members []transport.NodeID
}

type request struct {
	shard int
	req   transport.GcsRequest
	first time.Time
	sent  time.Time
	// resends since the chain last changed: each waits twice as long as
	// the one before, up to RetryTimeout<<maxResendShift (see retry).
	resends int
	// before counts, for a read that waits for the client's writes
	// (Client.waiting), the writes to its shard sent before it and not yet
	// acknowledged: it is sent when none is left.
	before int
}

// NewClient returns a client for the GCS of layout.
func NewClient(env transport.Env, layout *Layout) *Client {
	c := &Client{env: env, clock: transport.NewClock(env), layout: layout, RetryTimeout: 30 * time.Millisecond, pending: make(map[uint64]*request)}
	_, c.batchObjects = env.(transport.QueuedTimer)
	_, c.meter = env.(transport.WireMeter)
	for _, ch := range layout.Chains {
		c.chains = append(c.chains, clientChain{epoch: 1, members: slices.Clone(ch)})
	}
	// Sequence numbers start at the incarnation's start time: a restarted
	// client never reuses one its previous incarnation sent.
	c.seq = uint64(max(env.Now().UnixNano(), 0))
	c.low = c.seq + 1
	return c
}

// Send sends m to the GCS shard named to (a Layout.Shards entry); any
// other destination, or an unreplicated GCS, gets a plain Send.
func (c *Client) Send(to transport.NodeID, m transport.Message) {
	if j, ok := c.layout.ShardIndex(to); ok {
		c.releaseObjects(j) // what waits for the shard goes first: order is kept
		if c.holding {
			c.release(j)
		}
	}
	c.send1(to, m)
}

// AddObject sends an object location to shard to (GcsAddObject). In netsim
// (transport.QueuedTimer) it goes with the others added until the loop is
// next free: a zero-delay timer, which runs after the node's busy stretch,
// sends each shard's in one GcsAddObjects. A raylet storing results as fast
// as its workers finish thus writes the object table with one message per
// shard and stretch, not one per object, as a real client batches its
// writes (on TCP the connection's writer does: it sends at once). Any other
// message to the shard sends the held locations first.
func (c *Client) AddObject(to transport.NodeID, m transport.GcsAddObject) {
	j, ok := c.layout.ShardIndex(to)
	if !ok || !c.batchObjects {
		one := m // only this path's copy escapes (with &m, every call allocated m)
		c.send1(to, &one)
		return
	}
	if c.holding {
		c.release(j) // specs held for the shard go first
	}
	if c.objs == nil {
		c.objs = make([][]transport.GcsAddObject, len(c.layout.Shards))
		c.objsLast = make([]int, len(c.layout.Shards))
	}
	if cap(c.objs[j]) == 0 && c.objsLast[j] > 1 {
		c.objs[j] = make([]transport.GcsAddObject, 0, c.objsLast[j]) // as many as last time
	}
	c.objs[j] = append(c.objs[j], m)
	if len(c.objs[j]) >= maxBatchObjects {
		c.releaseObjects(j)
	}
	if !c.objsArmed {
		c.objsArmed = true
		c.env.After(0, c.flushObjects)
	}
}

// maxBatchObjects caps a GcsAddObjects (a few tens of bytes each on the
// wire), well inside a frame.
const maxBatchObjects = 4096

// flushObjects is the flush timer (see AddObject).
func (c *Client) flushObjects() {
	c.objsArmed = false
	c.Flush()
}

// Flush sends every shard's held object locations now, in shard order (the
// armed timer then finds nothing). A raylet calls it before anything it
// sends elsewhere, which may carry a ref to one of those objects: a ref
// must not reach another node while the GCS may never hear of its object
// (a crash before the timer).
func (c *Client) Flush() {
	for j := range c.objs {
		c.releaseObjects(j)
	}
}

func (c *Client) releaseObjects(j int) {
	if j >= len(c.objs) {
		return
	}
	objs := c.objs[j]
	switch len(objs) {
	case 0:
		return
	case 1:
		m := objs[0]
		c.send1(c.layout.Shards[j], &m)
		c.objs[j] = objs[:0]
	default:
		c.send1(c.layout.Shards[j], &transport.GcsAddObjects{Objects: objs})
		c.objs[j] = nil // the message keeps the slice
		c.objsLast[j] = len(objs)
	}
}

// AddTask sends a task's spec to the task table of shard to (GcsAddTask);
// while the client holds, the spec waits to leave with the shard's others.
// A held spec is not copied (see GcsAddTasks): the caller must not change
// it afterwards, except an actor call's, which is copied.
func (c *Client) AddTask(to transport.NodeID, spec *transport.TaskSpec) {
	j, shard := c.layout.ShardIndex(to)
	if shard {
		c.releaseObjects(j) // locations held for the shard go first
	}
	if c.holding {
		if shard {
			b := c.held[j]
			if b == nil {
				b = new(transport.GcsAddTasks)
				c.held[j] = b
			}
			if len(b.Specs) == 0 && cap(b.Specs) < c.coming[j] {
				b.Specs = make([]*transport.TaskSpec, 0, min(c.coming[j], maxBatchSpecs))
			}
			c.coming[j] = max(c.coming[j]-1, 0)
			if spec.Actor != 0 {
				// An actor call's SeqBase is set when it is routed, after
				// this: the shard gets the spec as it is now.
				cp := *spec
				spec = &cp
			}
			b.Add(spec, c.meter)
			c.heldBytes[j] += specOverhead + argOverhead*len(spec.Args) + len(spec.Func) + len(spec.Name) + int(spec.InlineBytes())
			if c.heldBytes[j] >= maxBatchBytes || len(b.Specs) >= maxBatchSpecs {
				c.release(j) // a batch must fit in a frame (transport.MaxBodyBytes)
			}
			return
		}
	}
	c.send1(to, &transport.GcsAddTask{Spec: *spec})
}

// A batch of specs leaves once it holds maxBatchBytes (estimated: a spec's
// fixed fields, each argument's, its names and its inline argument bytes)
// or maxBatchSpecs, well inside a frame.
const (
	maxBatchBytes = transport.MaxBodyBytes / 8
	maxBatchSpecs = 4096
	specOverhead  = 160
	argOverhead   = 32
)

// Hold makes AddTask collect specs per shard until Release, which sends
// each shard's as one GcsAddTasks: a raylet taking a burst of submissions
// in one turn writes them with a message per shard, not one per task (as a
// real client batches its writes). Any other message to a shard first
// sends the specs held for it, so each shard sees what the client sent in
// the order it was sent. specs are the ones about to come: each shard's
// batch is sized for exactly its own, so no batch grows by copying or keeps
// spare room (the shard's table keeps the batch).
func (c *Client) Hold(specs []*transport.TaskSpec) {
	c.holding = true
	if c.held == nil {
		c.held = make([]*transport.GcsAddTasks, len(c.layout.Shards))
		c.heldBytes = make([]int, len(c.layout.Shards))
		c.coming = make([]int, len(c.layout.Shards))
	}
	for _, s := range specs {
		if j, ok := c.layout.ShardIndex(c.layout.ShardOfTask(s.ID)); ok {
			c.coming[j]++
		}
	}
}

// Release ends Hold, sending what was held, shard by shard in shard order.
func (c *Client) Release() {
	for j := range c.held {
		c.release(j)
		c.coming[j] = 0
	}
	c.holding = false
}

func (c *Client) release(j int) {
	b := c.held[j]
	c.heldBytes[j] = 0
	if b == nil || len(b.Specs) == 0 {
		return
	}
	if len(b.Specs) == 1 {
		c.send1(c.layout.Shards[j], &transport.GcsAddTask{Spec: *b.Specs[0]})
		b.Reset() // the message holds a copy: reuse
		return
	}
	c.held[j] = nil // the message keeps the batch
	c.send1(c.layout.Shards[j], b)
}

// send1 sends one message: plainly, or as a request of the shard's chain.
func (c *Client) send1(to transport.NodeID, m transport.Message) {
	if !c.layout.Replicated() {
		c.env.Send(to, m)
		return
	}
	j, ok := c.layout.ShardIndex(to)
	if !ok {
		c.env.Send(to, m)
		return
	}
	r := &request{shard: j, req: transport.GcsRequest{Op: m}, first: c.clock.Now()}
	if _, hb := m.(*transport.Heartbeat); !hb {
		c.seq++
		r.req.Seq = c.seq
		c.pending[c.seq] = r
		c.Stats.Requests++
		if c.timer == nil {
			c.timer = c.env.After(c.RetryTimeout, c.retry)
		}
		if readsOwnWrites(m) {
			for _, q := range c.pending {
				if q.shard == j && !isRead(q.req.Op) {
					r.before++
				}
			}
			if r.before > 0 {
				c.waiting = append(c.waiting, r)
				return
			}
		}
	}
	c.send(r)
}

// isRead reports whether a chain's tail alone answers m (Replica.onRequest).
func isRead(m transport.Message) bool {
	switch m.(type) {
	case *transport.GcsGetTask, *transport.GcsListNames:
		return true
	}
	return false
}

// readsOwnWrites reports whether read m must see every write the client
// sent its shard before it: a listing of named actors must list the
// creation its asker submitted just before (transport.GcsListNames).
func readsOwnWrites(m transport.Message) bool {
	_, ok := m.(*transport.GcsListNames)
	return ok
}

// wrote counts write w acknowledged for the reads that wait for it, and
// sends those it was the last for, in the order they were sent.
func (c *Client) wrote(w *request) {
	if len(c.waiting) == 0 || isRead(w.req.Op) {
		return
	}
	left := c.waiting[:0]
	var ready []*request
	for _, r := range c.waiting {
		if r.shard == w.shard && w.req.Seq < r.req.Seq {
			r.before--
		}
		if r.before > 0 {
			left = append(left, r)
		} else {
			ready = append(ready, r)
		}
	}
	clear(c.waiting[len(left):])
	c.waiting = left
	for _, r := range ready {
		c.send(r)
	}
}

func (c *Client) send(r *request) {
	ch := &c.chains[r.shard]
	if len(ch.members) == 0 {
		return // no live replica: wait for a configuration
	}
	to := ch.members[0]
	if isRead(r.req.Op) {
		to = ch.members[len(ch.members)-1]
	}
	r.sent = c.clock.Now()
	r.req.Low, r.req.Epoch, r.req.Chain = c.low, c.Epoch, ch.epoch
	m := r.req // a copy: the receiver may keep it
	if to == c.env.Self() && c.Loopback != nil {
		c.Loopback(&m)
		return
	}
	c.env.Send(to, &m)
}

// Handle takes the GCS's acknowledgements and chain configurations; it
// reports whether m was one of them. An acknowledgement counts only from
// the GCS (or the client's own endpoint, a replica's loopback), a
// configuration only from the chain master: taken from anyone, one with a
// huge epoch would freeze the client's view of a chain for good.
func (c *Client) Handle(from transport.NodeID, m transport.Message) bool {
	switch m := m.(type) {
	case *transport.GcsAck:
		if from != c.env.Self() && !c.layout.IsGCS(from) {
			return true
		}
		r := c.pending[m.Seq]
		if r == nil {
			return true
		}
		delete(c.pending, m.Seq)
		c.Stats.Acked++
		c.Stats.MaxDelay = max(c.Stats.MaxDelay, c.clock.Since(r.first))
		for c.low <= c.seq && c.pending[c.low] == nil {
			c.low++
		}
		c.wrote(r)
		return true
	case *transport.ChainConfig:
		j := int(m.Shard)
		if from != c.layout.Master || j >= len(c.chains) || m.Epoch <= c.chains[j].epoch {
			return true
		}
		c.chains[j] = clientChain{epoch: m.Epoch, members: slices.Clone(m.Members)}
		for _, r := range c.ordered() {
			if r.shard == j && r.before == 0 {
				c.Stats.Resent++
				r.resends = 0
				c.send(r)
			}
		}
		return true
	}
	return false
}

// ordered lists the pending requests by sequence number.
func (c *Client) ordered() []*request {
	seqs := make([]uint64, 0, len(c.pending))
	for s := range c.pending {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	out := make([]*request, len(seqs))
	for i, s := range seqs {
		out[i] = c.pending[s]
	}
	return out
}

// retry re-sends requests unacknowledged for RetryTimeout and asks the
// master whether their chains changed.
func (c *Client) retry() {
	c.timer = nil
	if len(c.pending) == 0 {
		return
	}
	now := c.clock.Now()
	asked := make([]bool, len(c.chains))
	for _, r := range c.ordered() {
		if r.before > 0 || now.Sub(r.sent) < c.RetryTimeout<<min(r.resends, maxResendShift) {
			continue // (a read waiting for the client's writes: not sent yet)
		}
		// Backing off: the transport resends lost frames itself, and a
		// slow chain flooded with copies only gets slower.
		r.resends++
		c.Stats.Resent++
		c.send(r)
		if !asked[r.shard] {
			asked[r.shard] = true
			c.env.Send(c.layout.Master, &transport.ChainPing{Shard: uint32(r.shard), Epoch: c.chains[r.shard].epoch, Client: true})
		}
	}
	c.timer = c.env.After(c.RetryTimeout, c.retry)
}

// Pending is the number of unacknowledged requests.
func (c *Client) Pending() int { return len(c.pending) }

// Chain returns the client's view of shard j's chain, head first.
func (c *Client) Chain(j int) []transport.NodeID {
	if j >= len(c.chains) {
		return nil
	}
	return slices.Clone(c.chains[j].members)
}
