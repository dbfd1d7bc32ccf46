package traces

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// ChromeEvent is one Chrome trace-event (the JSON Object Format that
// chrome://tracing and Perfetto read).
type ChromeEvent struct {
	Name  string   `json:"name,omitempty"`
	Cat   string   `json:"cat,omitempty"`
	Ph    string   `json:"ph"`
	Ts    float64  `json:"ts"` // microseconds
	Dur   *float64 `json:"dur,omitempty"`
	Pid   uint32   `json:"pid"`
	Tid   uint32   `json:"tid"`
	ID    string   `json:"id,omitempty"`
	Bp    string   `json:"bp,omitempty"`
	Scope string   `json:"s,omitempty"`
	// BindID, FlowOut and FlowIn are a v2 flow (Chrome's bind_id events,
	// which Perfetto's JSON importer and chrome://tracing read): the flow
	// starts at the slice carrying FlowOut and ends at the one carrying
	// FlowIn, each binding to the event it is written on, never to a slice
	// found by timestamp as a v1 flow ("ph":"s"/"f") does.
	BindID  string         `json:"bind_id,omitempty"`
	FlowOut bool           `json:"flow_out,omitempty"`
	FlowIn  bool           `json:"flow_in,omitempty"`
	Args    map[string]any `json:"args,omitempty"`
}

// Thread IDs within a node's process: worker lanes are 1..; the others are
// fixed.
const (
	tidSubmit    = 0       // submissions (flow starts)
	tidWorker    = 1       // first worker lane
	tidTransfer  = 1 << 16 // first object-transfer lane
	tidServe     = 1<<17 - 1
	tidScheduler = 1<<17 - 2
)

func usec(d time.Duration) float64 { return float64(d) / 1e3 }

type openSlice struct {
	name  string
	start time.Duration
	lane  int
	cat   string
	args  map[string]any
	// flow is the bind_id of the submission arrow that ends at this slice
	// ("": none).
	flow string
}

type chromeNode struct {
	lanes     []bool          // worker lanes in use
	xlaneEnd  []time.Duration // end of each transfer lane's last slice
	running   map[transport.TaskID]*openSlice
	queued    map[transport.TaskID]bool // accepted here, not yet running nor ended: the queue counter
	storeUsed int64
	objects   map[transport.ObjectID]int64
	// spilled are the objects out of memory in the node's spill tier
	// (made at the first spill), spillUsed their bytes.
	spilled   map[transport.ObjectID]bool
	spillUsed int64
	named     map[uint32]bool // threads named
}

// flowStart is a task's first pending submission: its "submit" slice is
// held back until the task runs (then it is written as the arrow's start,
// flow_out) or ends without running (written without an arrow), so a task
// that never runs has no dangling flow.
type flowStart struct {
	at   time.Duration
	pid  uint32
	name string
}

// chromeWriter turns records into trace events as they stream by.
type chromeWriter struct {
	opts    ChromeOptions
	w       *bufio.Writer
	n       int
	err     error
	nodes   map[transport.NodeID]*chromeNode
	order   []transport.NodeID
	flows   map[transport.TaskID]flowStart // submitted, not yet running
	flowSeq uint64
	pulls   map[[2]transport.NodeID][]time.Duration // unanswered PullRequest sends per (requester, source), oldest first
	end     time.Duration
	names   func(transport.NodeID) string // NodeNamer of the trace's header
	buf     bytes.Buffer                  // emit's
	enc     *json.Encoder                 // emit's, into buf
	// ran is each task's name as its first run named it (EvTaskRunning's
	// Detail), for the slice of a replayed actor method, whose events say
	// only "replay": it is named "add (replay)", so a search for the
	// method finds its replays too.
	ran map[transport.TaskID]string
}

// WriteChrome writes a trace as Chrome trace-event JSON, as `ray timeline`
// does: a process per node (raylets, GCS shards, the global scheduler), a
// thread per worker lane (lanes are inferred greedily from task running /
// finished events: a task takes the lowest free lane of its node), a
// complete slice per task execution, flow arrows from each task's
// submission to its execution and for object transfers, instant markers for
// faults, and counter tracks for each node's queue length and object store
// bytes. Slices on one thread never overlap, so they nest trivially.
func WriteChrome(w io.Writer, r *Reader) error { return WriteChromeWith(w, r, ChromeOptions{}) }

// ChromeOptions tune WriteChromeWith.
type ChromeOptions struct {
	// Name names an endpoint's process ("" or nil: NodeNamer's name from
	// the trace's header, as `raysim analyze` names it).
	Name func(transport.NodeID) string
}

// WriteChromeWith is WriteChrome with options.
func WriteChromeWith(w io.Writer, r *Reader, o ChromeOptions) error {
	cw := &chromeWriter{opts: o, w: bufio.NewWriterSize(w, 256<<10), nodes: map[transport.NodeID]*chromeNode{},
		flows: map[transport.TaskID]flowStart{}, ran: map[transport.TaskID]string{}, pulls: map[[2]transport.NodeID][]time.Duration{}}
	h := r.Header()
	cw.names = NodeNamer(h)
	cw.w.WriteString(`{"displayTimeUnit":"ms","otherData":{"generator":"raysim",`)
	meta, _ := json.Marshal(map[string]any{"scenario": h.File, "seed": h.Seed, "version": h.Version})
	cw.w.Write(meta[1 : len(meta)-1])
	cw.w.WriteString("},\n\"traceEvents\":[\n")
	for _, rec := range r.All() {
		cw.record(rec)
	}
	cw.finish()
	cw.w.WriteString("\n]}\n")
	if err := cw.w.Flush(); err != nil && cw.err == nil {
		cw.err = err
	}
	if cw.err != nil {
		return cw.err
	}
	return r.Err()
}

// emit writes one event. Its JSON leaves <, > and & as they are (not
// json.Marshal's HTML-safe \u003e): the file is no HTML, and a fault's
// name says head->worker-1.
func (c *chromeWriter) emit(ev *ChromeEvent) {
	c.buf.Reset()
	if c.enc == nil {
		c.enc = json.NewEncoder(&c.buf)
		c.enc.SetEscapeHTML(false)
	}
	if err := c.enc.Encode(ev); err != nil {
		c.err = err
		return
	}
	if c.n > 0 {
		c.w.WriteString(",\n")
	}
	c.n++
	c.w.Write(bytes.TrimSuffix(c.buf.Bytes(), []byte("\n")))
}

func (c *chromeWriter) node(id transport.NodeID) *chromeNode {
	n := c.nodes[id]
	if n == nil {
		n = &chromeNode{running: map[transport.TaskID]*openSlice{}, queued: map[transport.TaskID]bool{}, objects: map[transport.ObjectID]int64{}, named: map[uint32]bool{}}
		c.nodes[id] = n
		c.order = append(c.order, id)
		c.emit(&ChromeEvent{Name: "process_name", Ph: "M", Pid: uint32(id), Args: map[string]any{"name": c.name(id)}})
		c.emit(&ChromeEvent{Name: "process_sort_index", Ph: "M", Pid: uint32(id), Args: map[string]any{"sort_index": int(id)}})
	}
	return n
}

func (c *chromeWriter) name(id transport.NodeID) string {
	if c.opts.Name != nil {
		if s := c.opts.Name(id); s != "" {
			return s
		}
	}
	return c.names(id)
}

// PartitionGroups parses a partition record's Detail ("[1 2 3][4 5]":
// the groups' endpoint IDs, as netsim writes them); ok is false for any
// other Detail.
func PartitionGroups(detail string) (groups [][]transport.NodeID, ok bool) {
	if !strings.HasPrefix(detail, "[") || !strings.HasSuffix(detail, "]") {
		return nil, false
	}
	for _, g := range strings.Split(detail[1:len(detail)-1], "][") {
		var ids []transport.NodeID
		for _, field := range strings.Fields(g) {
			n, err := strconv.ParseUint(field, 10, 64)
			if err != nil {
				return nil, false
			}
			ids = append(ids, transport.NodeID(n))
		}
		groups = append(groups, ids)
	}
	return groups, true
}

// NameGroups rewrites a partition record's Detail with each endpoint ID
// named by name ("[head, worker-0, worker-1][worker-2, worker-3]"); any
// other Detail comes back as it is.
func NameGroups(detail string, name func(transport.NodeID) string) string {
	groups, ok := PartitionGroups(detail)
	if !ok {
		return detail
	}
	var b strings.Builder
	for _, g := range groups {
		b.WriteByte('[')
		for i, id := range g {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name(id))
		}
		b.WriteByte(']')
	}
	return b.String()
}

// The endpoint IDs of the ray.Sim layout (runtime/ray/cluster.go, which
// this package does not import; TestEndpointNameLayout checks they agree):
// raylet i is i+1, the global scheduler 1<<20, GCS shard j the one after
// it plus j, replica i of shard j the shard's ID plus i<<12, and the GCS
// chain master 1<<20 + 1<<19.
const (
	schedulerID   = transport.NodeID(1 << 20)
	gcsMasterID   = schedulerID + 1<<19
	replicaShift  = 12
	maxGCSReplica = 64
)

// GCSEndpoint decodes a GCS replica's endpoint ID: its shard and its
// replica index in the shard's chain (0: the shard's own ID). ok is false
// for any other endpoint, the chain master included.
func GCSEndpoint(id transport.NodeID) (shard, replica int, ok bool) {
	if id <= schedulerID || id >= gcsMasterID {
		return 0, 0, false
	}
	off := int(id - schedulerID - 1)
	shard, replica = off&(1<<replicaShift-1), off>>replicaShift
	if replica >= maxGCSReplica {
		return 0, 0, false
	}
	return shard, replica, true
}

// EndpointName names an endpoint by the ray.Sim layout, for exports and
// analyses that have no better name (a raylet's scenario name, NodeNamer):
// "node-N" (the raylet of endpoint ID N), "global scheduler", "gcs-j" (GCS shard j),
// "gcs-j replica i" (its i-th chain replica: replica IDs are far from the
// shard's, so naming them by the ID's offset would print "gcs-4096"),
// "gcs master" (the chain configuration master), "cluster" (ID 0).
func EndpointName(id transport.NodeID) string {
	switch {
	case id == 0:
		return "cluster"
	case id < schedulerID:
		return fmt.Sprintf("node-%d", id)
	case id == schedulerID:
		return "global scheduler"
	case id == gcsMasterID:
		return "gcs master"
	}
	if shard, replica, ok := GCSEndpoint(id); ok {
		if replica == 0 {
			return fmt.Sprintf("gcs-%d", shard)
		}
		return fmt.Sprintf("gcs-%d replica %d", shard, replica)
	}
	return fmt.Sprintf("endpoint %d", id)
}

func (c *chromeWriter) thread(pid transport.NodeID, n *chromeNode, tid uint32) {
	if n.named[tid] {
		return
	}
	n.named[tid] = true
	var name string
	switch {
	case tid == tidSubmit:
		name = "submit"
	case tid == tidServe:
		name = "serve objects"
	case tid == tidScheduler:
		name = "scheduler"
	case tid >= tidTransfer:
		name = fmt.Sprintf("transfer %d", tid-tidTransfer)
	default:
		name = fmt.Sprintf("worker %d", tid-tidWorker)
	}
	c.emit(&ChromeEvent{Name: "thread_name", Ph: "M", Pid: uint32(pid), Tid: tid, Args: map[string]any{"name": name}})
	c.emit(&ChromeEvent{Name: "thread_sort_index", Ph: "M", Pid: uint32(pid), Tid: tid, Args: map[string]any{"sort_index": int(tid)}})
}

func takeLane(lanes *[]bool) int {
	for i, used := range *lanes {
		if !used {
			(*lanes)[i] = true
			return i
		}
	}
	*lanes = append(*lanes, true)
	return len(*lanes) - 1
}

func (c *chromeWriter) counter(pid transport.NodeID, name string, at time.Duration, key string, v int64) {
	c.emit(&ChromeEvent{Name: name, Ph: "C", Ts: usec(at), Pid: uint32(pid), Args: map[string]any{key: v}})
}

// enqueue counts a task accepted by node id in its queue counter (once: a
// duplicate acceptance of a queued task adds nothing, as the raylet keeps
// one copy).
func (c *chromeWriter) enqueue(id transport.NodeID, n *chromeNode, task transport.TaskID, at time.Duration) {
	if n.queued[task] {
		return
	}
	n.queued[task] = true
	c.counter(id, "queue", at, "tasks", int64(len(n.queued)))
}

// dequeue takes a task out of node id's queue counter, if it is queued
// there: it started running, was spilled on, or ended without running
// (cancelled, failed). A crash clears the whole queue.
func (c *chromeWriter) dequeue(id transport.NodeID, n *chromeNode, task transport.TaskID, at time.Duration) {
	if !n.queued[task] {
		return
	}
	delete(n.queued, task)
	c.counter(id, "queue", at, "tasks", int64(len(n.queued)))
}

// nextFlow allocates a flow's bind_id.
func (c *chromeWriter) nextFlow() string {
	c.flowSeq++
	return "0x" + strconv.FormatUint(c.flowSeq, 16)
}

// submitSlice writes a submission's zero-length slice on its node's submit
// thread, with the start of flow bind (flow_out) unless bind is "".
func (c *chromeWriter) submitSlice(task transport.TaskID, f flowStart, bind string) {
	z := 0.0
	c.emit(&ChromeEvent{Name: f.name, Cat: "submit", Ph: "X", Ts: usec(f.at), Dur: &z, Pid: f.pid, Tid: tidSubmit,
		BindID: bind, FlowOut: bind != "", Args: map[string]any{"task": task.String()}})
}

// unflow writes the held submission slice of a task that ended without
// running, without an arrow.
func (c *chromeWriter) unflow(task transport.TaskID) {
	if f, ok := c.flows[task]; ok {
		delete(c.flows, task)
		c.submitSlice(task, f, "")
	}
}

func (c *chromeWriter) endTask(id transport.NodeID, n *chromeNode, task transport.TaskID, at time.Duration, status string) {
	s := n.running[task]
	if s == nil {
		return
	}
	delete(n.running, task)
	n.lanes[s.lane] = false
	if s.args == nil {
		s.args = map[string]any{}
	}
	s.args["task"] = task.String()
	s.args["status"] = status
	d := usec(at - s.start)
	c.emit(&ChromeEvent{Name: s.name, Cat: s.cat, Ph: "X", Ts: usec(s.start), Dur: &d, Pid: uint32(id), Tid: uint32(tidWorker + s.lane),
		BindID: s.flow, FlowIn: s.flow != "", Args: s.args})
}

// runName names the slice of a task's run: its Detail, the task's name;
// for a replayed actor method (DetailReplay), the method's name as its
// first run gave it, followed by " (replay)" ("replay" alone if the trace
// does not hold that run).
func (c *chromeWriter) runName(r *Record) string {
	if r.Detail != transport.DetailReplay {
		if _, ok := c.ran[r.Task]; !ok {
			c.ran[r.Task] = r.Detail
		}
		return r.Detail
	}
	if name := c.ran[r.Task]; name != "" {
		return name + " (" + transport.DetailReplay + ")"
	}
	return r.Detail
}

func (c *chromeWriter) record(r *Record) {
	c.end = r.At
	if r.Source == Net {
		c.netRecord(r)
		return
	}
	id := r.Node
	n := c.node(id)
	switch transport.EventKind(r.Kind) {
	case transport.EvTaskSubmitted:
		c.thread(id, n, tidSubmit)
		// The arrow starts at the submission's slice and ends at the
		// run's, both written when the task starts running, so a task
		// that never runs — cancelled or failed while queued, infeasible
		// — has none. A task re-submitted before it ran (a parent re-run
		// after a crash re-submits its children with the same IDs) keeps
		// the arrow of its first submission; the others are plain slices.
		if _, pending := c.flows[r.Task]; !pending {
			c.flows[r.Task] = flowStart{at: r.At, pid: uint32(id), name: "submit " + r.Detail}
		} else {
			c.submitSlice(r.Task, flowStart{at: r.At, pid: uint32(id), name: "submit " + r.Detail}, "")
		}
	case transport.EvTaskPlaced:
		if r.Peer == r.Node {
			c.enqueue(id, n, r.Task, r.At)
		} else {
			c.dequeue(id, n, r.Task, r.At) // spilled on from here
		}
	case transport.EvTaskRunning:
		c.dequeue(id, n, r.Task, r.At)
		if old := n.running[r.Task]; old != nil { // re-run without an end: close it
			c.endTask(id, n, r.Task, r.At, "restarted")
		}
		lane := takeLane(&n.lanes)
		c.thread(id, n, uint32(tidWorker+lane))
		s := &openSlice{name: c.runName(r), start: r.At, lane: lane, cat: "task"}
		n.running[r.Task] = s
		if f, ok := c.flows[r.Task]; ok {
			delete(c.flows, r.Task)
			s.flow = c.nextFlow()
			c.submitSlice(r.Task, f, s.flow)
		}
	case transport.EvTaskFinished:
		c.dequeue(id, n, r.Task, r.At)
		c.unflow(r.Task)
		c.endTask(id, n, r.Task, r.At, "finished")
	case transport.EvActorCreated:
		c.dequeue(id, n, r.Task, r.At)
		c.unflow(r.Task)
		c.endTask(id, n, r.Task, r.At, "actor created")
	case transport.EvTaskFailed: // a queued task fails or is cancelled without running
		c.dequeue(id, n, r.Task, r.At)
		c.unflow(r.Task)
		c.endTask(id, n, r.Task, r.At, "failed")
		c.instant(id, "task failed", r, "t")
	case transport.EvTaskCancelled:
		c.dequeue(id, n, r.Task, r.At)
		c.unflow(r.Task)
		c.endTask(id, n, r.Task, r.At, "cancelled")
	case transport.EvObjectCreated:
		n.objects[r.Object] = r.Bytes
		n.storeUsed += r.Bytes
		c.counter(id, "object store", r.At, "bytes", n.storeUsed)
	case transport.EvObjectEvicted:
		if sz, ok := n.objects[r.Object]; ok {
			delete(n.objects, r.Object)
			if n.spilled[r.Object] { // a spilled copy freed
				delete(n.spilled, r.Object)
				n.spillUsed -= sz
				c.counter(id, "spilled", r.At, "bytes", n.spillUsed)
				break
			}
			n.storeUsed -= sz
			c.counter(id, "object store", r.At, "bytes", n.storeUsed)
		}
	case transport.EvObjectSpilled:
		if sz, ok := n.objects[r.Object]; ok && !n.spilled[r.Object] {
			if n.spilled == nil {
				n.spilled = map[transport.ObjectID]bool{}
			}
			n.spilled[r.Object] = true
			n.storeUsed -= sz
			n.spillUsed += sz
			c.counter(id, "object store", r.At, "bytes", n.storeUsed)
			c.counter(id, "spilled", r.At, "bytes", n.spillUsed)
		}
	case transport.EvObjectRestored:
		if sz, ok := n.objects[r.Object]; ok && n.spilled[r.Object] {
			delete(n.spilled, r.Object)
			n.storeUsed += sz
			n.spillUsed -= sz
			c.counter(id, "object store", r.At, "bytes", n.storeUsed)
			c.counter(id, "spilled", r.At, "bytes", n.spillUsed)
		}
	case transport.EvObjectTransferred:
		c.transfer(r)
	case transport.EvTaskRetried:
		// A run whose code failed, retried in place (RetryExceptions):
		// its slice ends here, and the retry's task.running opens the next.
		if n.running[r.Task] != nil {
			c.endTask(id, n, r.Task, r.At, "failed, retried")
		}
		c.instant(id, r.KindName(), r, "p")
	case transport.EvObjectLost, transport.EvNodeDead, transport.EvActorDied, transport.EvActorRestarted,
		transport.EvTaskInfeasible:
		c.instant(id, r.KindName(), r, "p")
	}
}

func (c *chromeWriter) instant(pid transport.NodeID, name string, r *Record, scope string) {
	args := map[string]any{"kind": r.KindName()}
	if r.Task != 0 {
		args["task"] = r.Task.String()
	}
	if r.Object != (transport.ObjectID{}) {
		args["object"] = r.Object.String()
	}
	if r.Detail != "" {
		args["detail"] = r.Detail
	}
	if r.Peer != 0 {
		args["peer"] = c.name(r.Peer)
	}
	c.emit(&ChromeEvent{Name: name, Cat: "event", Ph: "i", Scope: scope, Ts: usec(r.At), Pid: uint32(pid), Tid: tidSubmit, Args: args})
}

// transfer draws an object transfer: a slice on the receiver's transfer
// lane from the pull that asked for it to the completion, with a flow arrow
// from the source's "serve objects" thread.
//
// Net records do not say which object a PullRequest asks for (the message
// kind only), so the pull is the latest unanswered PullRequest send of the
// node pair: a raylet pulls an object once at a time and re-pulls it after a
// timeout, so the latest pull is the one a transfer answers, and a pull
// never answered (its source paused, its chunks lost) cannot shift every
// later transfer's start, as matching the oldest would. Pulls that can no
// longer be answered are dropped as the trace shows it (dropPull, crashes).
func (c *chromeWriter) transfer(r *Record) {
	key := [2]transport.NodeID{r.Node, r.Peer}
	start := r.At
	if q := c.pulls[key]; len(q) > 0 {
		start = q[len(q)-1]
		c.setPulls(key, q[:len(q)-1])
	}
	n := c.node(r.Node)
	lane := -1
	for l, end := range n.xlaneEnd {
		if end <= start {
			lane = l
			break
		}
	}
	if lane < 0 {
		lane = len(n.xlaneEnd)
		n.xlaneEnd = append(n.xlaneEnd, 0)
	}
	n.xlaneEnd[lane] = r.At
	tid := uint32(tidTransfer + lane)
	c.thread(r.Node, n, tid)
	src := c.node(r.Peer)
	c.thread(r.Peer, src, tidServe)
	fid := c.nextFlow()
	z, d := 0.0, usec(r.At-start)
	c.emit(&ChromeEvent{Name: "serve " + r.Object.String(), Cat: "transfer", Ph: "X", Ts: usec(start), Dur: &z, Pid: uint32(r.Peer), Tid: tidServe,
		BindID: fid, FlowOut: true})
	c.emit(&ChromeEvent{Name: "fetch " + r.Object.String(), Cat: "transfer", Ph: "X", Ts: usec(start), Dur: &d, Pid: uint32(r.Node), Tid: tid,
		BindID: fid, FlowIn: true, Args: map[string]any{"object": r.Object.String(), "bytes": r.Bytes, "from": c.name(r.Peer)}})
}

func (c *chromeWriter) netRecord(r *Record) {
	k := netsim.EventKind(r.Kind)
	switch k {
	case netsim.EvSend:
		switch r.Msg {
		case transport.KindPullRequest:
			key := [2]transport.NodeID{r.Node, r.Peer}
			c.pulls[key] = append(c.pulls[key], r.At)
		case transport.KindPullFailed: // the source has no copy: answers its oldest pull
			key := [2]transport.NodeID{r.Peer, r.Node}
			if q := c.pulls[key]; len(q) > 0 {
				c.setPulls(key, q[1:])
			}
		}
	case netsim.EvDrop:
		if r.Msg == transport.KindPullRequest && r.Detail != netsim.DropSender {
			c.dropPull(r)
		}
	case netsim.EvCrash:
		c.forgetPulls(r.Node)
		n := c.node(r.Node)
		ids := make([]transport.TaskID, 0, len(n.running))
		for t := range n.running {
			ids = append(ids, t)
		}
		slices.Sort(ids)
		for _, t := range ids {
			c.endTask(r.Node, n, t, r.At, "lost in crash")
		}
		n.storeUsed = 0
		clear(n.queued)
		clear(n.objects)
		if n.spillUsed != 0 || len(n.spilled) > 0 { // its spilled copies die with it
			clear(n.spilled)
			n.spillUsed = 0
			c.counter(r.Node, "spilled", r.At, "bytes", 0)
		}
		if r.Node < schedulerID { // a raylet's: the control plane has no queue or store
			c.counter(r.Node, "queue", r.At, "tasks", 0)
			c.counter(r.Node, "object store", r.At, "bytes", 0)
		}
		if r.Detail == netsim.DetailTerminated { // on purpose: an autoscaler's
			c.marker("terminate "+c.name(r.Node), "scaling", r)
		} else {
			c.fault("crash "+c.name(r.Node), r)
		}
	case netsim.EvRestart:
		if r.Detail == netsim.DetailLaunched {
			c.marker("launch "+c.name(r.Node), "scaling", r)
		} else {
			c.fault("restart "+c.name(r.Node), r)
		}
	case netsim.EvPartition:
		c.fault("partition "+NameGroups(r.Detail, c.name), r)
	case netsim.EvHeal:
		c.fault("heal", r)
	case netsim.EvPause:
		c.fault(fmt.Sprintf("pause %s for %v", c.name(r.Node), time.Duration(r.Bytes)), r)
	case netsim.EvDegrade:
		if r.Detail == "restore" {
			c.fault(fmt.Sprintf("restore %s->%s", c.name(r.Node), c.name(r.Peer)), r)
		} else {
			c.fault(fmt.Sprintf("degrade %s->%s %s", c.name(r.Node), c.name(r.Peer), DegradeText(r)), r)
		}
	case netsim.EvSkew:
		c.fault(fmt.Sprintf("skew %s offset %v", c.name(r.Node), time.Duration(r.Bytes)), r)
	case netsim.EvCustom:
		if strings.HasPrefix(r.Detail, "autoscaler ") { // its decisions, not faults
			c.marker(r.Detail, "scaling", r)
		} else {
			c.fault(r.Detail, r)
		}
	}
}

// DegradeText describes a link degradation record (netsim.EvDegrade, not
// a restore) as the Chrome export's marker and `raysim analyze`'s faults
// table do: the added latency (the record's Bytes, in nanoseconds) and the
// loss model (its Detail), "+5ms loss=0.2".
func DegradeText(r *Record) string {
	return fmt.Sprintf("+%v %s", time.Duration(r.Bytes), r.Detail)
}

// setPulls stores a pair's unanswered pulls (none: the pair is forgotten).
func (c *chromeWriter) setPulls(key [2]transport.NodeID, q []time.Duration) {
	if len(q) == 0 {
		delete(c.pulls, key)
		return
	}
	c.pulls[key] = q
}

// dropPull forgets the PullRequest a drop record lost: the one just sent
// when the drop is at the send (netsim records the send, then the drop, at
// the same instant), else the oldest in flight (a pair's messages arrive
// in the order they were sent).
func (c *chromeWriter) dropPull(r *Record) {
	key := [2]transport.NodeID{r.Node, r.Peer}
	q := c.pulls[key]
	switch {
	case len(q) == 0:
	case q[len(q)-1] == r.At:
		c.setPulls(key, q[:len(q)-1])
	default:
		c.setPulls(key, q[1:])
	}
}

// forgetPulls drops the pulls a crash of node leaves unanswered: those it
// sent (its fetches died with it) and those sent to it (it lost the copies
// and the requests).
func (c *chromeWriter) forgetPulls(node transport.NodeID) {
	for key := range c.pulls {
		if key[0] == node || key[1] == node {
			delete(c.pulls, key)
		}
	}
}

func (c *chromeWriter) fault(name string, r *Record) { c.marker(name, "fault", r) }

// marker is a global instant event of category cat on r's node.
func (c *chromeWriter) marker(name, cat string, r *Record) {
	pid := r.Node
	c.node(pid)
	c.emit(&ChromeEvent{Name: name, Cat: cat, Ph: "i", Scope: "g", Ts: usec(r.At), Pid: uint32(pid), Tid: tidSubmit,
		Args: map[string]any{"kind": r.KindName()}})
}

// finish closes the slices still open at the end of the trace and writes
// the held submissions of tasks that never ran (in task order).
func (c *chromeWriter) finish() {
	held := make([]transport.TaskID, 0, len(c.flows))
	for t := range c.flows {
		held = append(held, t)
	}
	slices.Sort(held)
	for _, t := range held {
		c.unflow(t)
	}
	for _, id := range c.order {
		n := c.nodes[id]
		ids := make([]transport.TaskID, 0, len(n.running))
		for t := range n.running {
			ids = append(ids, t)
		}
		slices.Sort(ids)
		for _, t := range ids {
			c.endTask(id, n, t, c.end, "unfinished at the end of the trace")
		}
	}
}
