package transport

import (
	"fmt"
	"time"
)

// Messages of a deployed cluster (runtime/deploy): processes started with
// `raysim start` join the head's coordinator, which assigns node IDs and
// publishes the address book; status queries, node control (fault
// injection), link faults and trace streaming ride the same authenticated
// connections. Their kinds live in their own range, from 300.
const (
	KindJoinRequest Kind = 300 + iota
	KindJoinReply
	KindAddressBook
	KindLeave
	KindStatusRequest
	KindStatusReply
	KindNodeControl
	KindLinkFault
	KindTraceSubscribe
	KindTraceBatch
	KindStoreReport
	KindBookRequest
)

// Roles of a process in a deployed cluster.
const (
	RoleNode   uint8 = iota + 1 // a raylet with resources (raysim start)
	RoleDriver                  // a raylet with no resources that runs drivers (raysim run --address, ray.Connect)
	RoleQuery                   // no raylet: status and control only (raysim status)
)

// BookEntry is one endpoint of a deployed cluster: where it listens, and
// for a raylet, its name, role and the agent endpoint of its process.
type BookEntry struct {
	Node  NodeID
	Addr  string
	Name  string
	Role  uint8
	Agent NodeID
}

// ClusterSpec is what a joining process must know to build its components
// exactly as the head built its own.
type ClusterSpec struct {
	Shards          uint32
	Replicas        uint32
	Policy          string
	SpillThreshold  uint32
	HeartbeatPeriod time.Duration
	NodeTimeout     time.Duration
	Seed            int64
}

// JoinRequest is sent by a process's agent endpoint to the coordinator.
// Addr is the listen address of the raylet it will run (empty for a
// query); AgentAddr is where the agent itself listens (the reply goes
// there). Functions lists the process's function table ("name=signature",
// sorted): the coordinator refuses a process whose table differs from the
// head's, naming the difference.
type JoinRequest struct {
	Role             uint8
	Name             string
	Addr             string
	AgentAddr        string
	Resources        Resources
	ObjectStoreBytes int64
	Functions        []string
}

// JoinReply answers a JoinRequest: Err set means refused; else Node is the
// raylet's assigned ID (0 for a query), Session a cluster-unique number
// (drivers salt their task IDs with it), Spec the cluster's configuration
// and Book every endpoint known so far, as of publication Epoch (the
// AddressBook deltas after it follow on).
type JoinReply struct {
	Err     string
	Node    NodeID
	Session uint64
	Spec    ClusterSpec
	Book    []BookEntry
	Epoch   uint64
}

// AddressBook is the coordinator's publication of the endpoints. Epoch
// numbers publications, one apart. A Full one lists every endpoint as of
// Epoch; any other is a delta: applied to the book as of Epoch-1, it adds
// (or replaces) Entries and drops the endpoints in Removed. An endpoint
// sends each membership change to every endpoint as a delta (a full book
// to each of N endpoints per join would cost O(N²) bytes a change, O(N³)
// for N joins: see docs/deploy.md); one that misses a delta (a lost frame,
// a restarted raylet) asks for the full book (BookRequest).
type AddressBook struct {
	Epoch   uint64
	Full    bool
	Entries []BookEntry
	Removed []NodeID
}

// BookRequest asks the coordinator for the full address book: the sender
// (an endpoint in the book) has the book as of Have and received a delta
// that does not follow on from it.
type BookRequest struct{ Have uint64 }

// Leave tells the coordinator a process is going away on purpose (its
// raylet Node, or its agent for a query process).
type Leave struct{ Node NodeID }

// StatusRequest asks the coordinator for the cluster's nodes.
type StatusRequest struct{}

// NodeStatus is one raylet as the coordinator sees it (load from the last
// heartbeat the node-table shard received; Age since then).
type NodeStatus struct {
	Node        NodeID
	Name        string
	Role        uint8
	Addr        string
	Incarnation uint64
	Total       Resources
	Available   Resources
	QueueLen    uint32
	Alive       bool
	Age         time.Duration
	// MeanTaskTime and MeanBandwidth are the node's last heartbeat's
	// measured means (Heartbeat): what the global scheduler's wait
	// estimate uses, and what a simulation's cost profile is compared with.
	MeanTaskTime  time.Duration
	MeanBandwidth uint64 // bytes/s; 0 until a pull of a chunk or more is measured
	// Store is the node's object store as its last StoreReport gave it
	// (zero until one came: a raylet reports with its heartbeats).
	Store StoreUsage
}

// StoreUsage is a node's object store use, as Ray's `ray status` shows
// object store memory: the bytes its copies take and its capacity (0:
// unbounded), its primary copies (an object made here, kept until freed,
// which the node may not evict), and its spill tier's bytes and capacity
// (0: none).
type StoreUsage struct {
	Used, Capacity           int64
	Primaries                uint64
	SpillUsed, SpillCapacity int64
}

// StoreReport is a raylet's object store use, sent with each heartbeat to
// the head's coordinator of a live cluster (node.Config.StoreReportTo),
// which `raysim status` reads. A raylet speaks for itself alone.
type StoreReport struct {
	Node        NodeID
	Incarnation uint64
	Usage       StoreUsage
}

// StatusReply lists the cluster's raylets, by NodeID.
type StatusReply struct {
	Nodes []NodeStatus
	// Removed, in the answer to a driver's process the head has removed
	// from the cluster (taken for crashed: see deploy.Coordinator's
	// sweep), says so; the driver's session ends with it.
	Removed string
}

// Node control operations (NodeControl.Op).
const (
	ControlKill    uint8 = iota + 1 // crash the raylet: state gone, no goodbye
	ControlRestart                  // start a new incarnation of a killed raylet
	ControlDrain                    // stop taking work, finish it, leave
	// ControlTaskErrors sets the probability (NodeControl.Rate) that a
	// run on the raylet fails with an injected error (a task_errors
	// fault); 0 ends it.
	ControlTaskErrors
)

// NodeControl asks the coordinator (Name set) or a process's agent (Node
// set) to act on a raylet. Reply is sent back as a NodeControl with Err or
// Done set when Ack is true.
type NodeControl struct {
	Op   uint8
	Name string
	Node NodeID
	Ack  bool
	Done bool
	Err  string
	Seq  uint64  // the requester's number for the request, echoed in the ack
	Rate float64 // ControlTaskErrors: in [0, 1]
	// By, in a control the coordinator forwards to a process, says who
	// asked for it (a driver's name, or the head itself and why), for the
	// process's log; the coordinator ignores it in a request.
	By string
}

// ValidRate reports whether r is a probability: ControlTaskErrors refuses
// any other (NaN included) from the network.
func ValidRate(r float64) bool { return r >= 0 && r <= 1 }

// LinkFault sets (or with Clear, removes every) fault on the links from any
// endpoint of the processes named in From to any of those named in To:
// extra Delay, Loss (a lost frame is delivered one retransmit timeout
// later, as TCP would), or Down (held until healed). The coordinator
// resolves names and forwards it to every agent.
type LinkFault struct {
	From, To []string
	Delay    time.Duration
	Loss     float64
	Down     bool
	Clear    bool
	// Resolved by the coordinator: endpoint IDs of From and To.
	FromNodes, ToNodes []NodeID
}

// TraceSubscribe asks the coordinator (then every agent) to stream the
// runtime events of every endpoint to Sink; Stop ends it.
type TraceSubscribe struct {
	Sink NodeID
	Stop bool
}

// TraceRecord is one runtime event with its wall-clock time.
type TraceRecord struct {
	At    time.Time
	Event Event
}

// TraceBatch carries events from one process to a trace sink.
type TraceBatch struct {
	Records []TraceRecord
}

func (*JoinRequest) Kind() Kind    { return KindJoinRequest }
func (*JoinReply) Kind() Kind      { return KindJoinReply }
func (*AddressBook) Kind() Kind    { return KindAddressBook }
func (*Leave) Kind() Kind          { return KindLeave }
func (*StatusRequest) Kind() Kind  { return KindStatusRequest }
func (*StatusReply) Kind() Kind    { return KindStatusReply }
func (*NodeControl) Kind() Kind    { return KindNodeControl }
func (*LinkFault) Kind() Kind      { return KindLinkFault }
func (*TraceSubscribe) Kind() Kind { return KindTraceSubscribe }
func (*TraceBatch) Kind() Kind     { return KindTraceBatch }
func (*StoreReport) Kind() Kind    { return KindStoreReport }
func (*BookRequest) Kind() Kind    { return KindBookRequest }

func (u *StoreUsage) marshal(e *Encoder) {
	e.Varint(u.Used)
	e.Varint(u.Capacity)
	e.Uvarint(u.Primaries)
	e.Varint(u.SpillUsed)
	e.Varint(u.SpillCapacity)
}

// unmarshal reads a StoreUsage; a negative size is refused.
func (u *StoreUsage) unmarshal(d *Decoder) {
	u.Used, u.Capacity, u.Primaries, u.SpillUsed, u.SpillCapacity = d.Varint(), d.Varint(), d.Uvarint(), d.Varint(), d.Varint()
	if (u.Used < 0 || u.Capacity < 0 || u.SpillUsed < 0 || u.SpillCapacity < 0) && d.err == nil {
		d.Fail(fmt.Errorf("%w: negative object store size", ErrInvalid))
	}
}

func (m *StoreReport) MarshalWire(e *Encoder) {
	e.Node(m.Node)
	e.Uvarint(m.Incarnation)
	m.Usage.marshal(e)
}
func (m *StoreReport) UnmarshalWire(d *Decoder) {
	m.Node, m.Incarnation = d.Node(), d.Uvarint()
	m.Usage.unmarshal(d)
}

func (e *Encoder) strings(ss []string) {
	e.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.String(s)
	}
}

func (d *Decoder) strings() []string {
	n := d.Count(MaxCount, 1)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.String()
	}
	return out
}

func (e *Encoder) book(b []BookEntry) {
	e.Uvarint(uint64(len(b)))
	for _, x := range b {
		e.Node(x.Node)
		e.String(x.Addr)
		e.String(x.Name)
		e.U8(x.Role)
		e.Node(x.Agent)
	}
}

func (d *Decoder) book() []BookEntry {
	n := d.Count(MaxCount, 5)
	if n == 0 {
		return nil
	}
	out := make([]BookEntry, n)
	for i := range out {
		out[i] = BookEntry{Node: d.Node(), Addr: d.String(), Name: d.String(), Role: d.U8(), Agent: d.Node()}
	}
	return out
}

func (m *JoinRequest) MarshalWire(e *Encoder) {
	e.U8(m.Role)
	e.String(m.Name)
	e.String(m.Addr)
	e.String(m.AgentAddr)
	e.Resources(m.Resources)
	e.Varint(m.ObjectStoreBytes)
	e.strings(m.Functions)
}

func (m *JoinRequest) UnmarshalWire(d *Decoder) {
	m.Role, m.Name, m.Addr, m.AgentAddr = d.U8(), d.String(), d.String(), d.String()
	m.Resources = d.ResourcesNonNeg()
	m.ObjectStoreBytes = d.Varint()
	m.Functions = d.strings()
}

func (m *JoinReply) MarshalWire(e *Encoder) {
	e.String(m.Err)
	e.Node(m.Node)
	e.Uvarint(m.Session)
	s := &m.Spec
	e.U32(s.Shards)
	e.U32(s.Replicas)
	e.String(s.Policy)
	e.U32(s.SpillThreshold)
	e.Duration(s.HeartbeatPeriod)
	e.Duration(s.NodeTimeout)
	e.Varint(s.Seed)
	e.book(m.Book)
	e.Uvarint(m.Epoch)
}

func (m *JoinReply) UnmarshalWire(d *Decoder) {
	m.Err, m.Node, m.Session = d.String(), d.Node(), d.Uvarint()
	s := &m.Spec
	s.Shards, s.Replicas, s.Policy, s.SpillThreshold = d.U32(), d.U32(), d.String(), d.U32()
	s.HeartbeatPeriod, s.NodeTimeout, s.Seed = d.Duration(), d.Duration(), d.Varint()
	m.Book = d.book()
	m.Epoch = d.Uvarint()
}

func (m *AddressBook) MarshalWire(e *Encoder) {
	e.Uvarint(m.Epoch)
	e.Bool(m.Full)
	e.book(m.Entries)
	e.Nodes(m.Removed)
}

// UnmarshalWire reads an AddressBook (its lists bounded as every list; a
// full book's Removed is ignored).
func (m *AddressBook) UnmarshalWire(d *Decoder) {
	m.Epoch, m.Full = d.Uvarint(), d.Bool()
	m.Entries = d.book()
	m.Removed = d.Nodes()
}

func (m *BookRequest) MarshalWire(e *Encoder)   { e.Uvarint(m.Have) }
func (m *BookRequest) UnmarshalWire(d *Decoder) { m.Have = d.Uvarint() }

func (m *Leave) MarshalWire(e *Encoder)   { e.Node(m.Node) }
func (m *Leave) UnmarshalWire(d *Decoder) { m.Node = d.Node() }

func (m *StatusRequest) MarshalWire(*Encoder)   {}
func (m *StatusRequest) UnmarshalWire(*Decoder) {}

func (m *StatusReply) MarshalWire(e *Encoder) {
	e.Uvarint(uint64(len(m.Nodes)))
	for i := range m.Nodes {
		n := &m.Nodes[i]
		e.Node(n.Node)
		e.String(n.Name)
		e.U8(n.Role)
		e.String(n.Addr)
		e.Uvarint(n.Incarnation)
		e.Resources(n.Total)
		e.Resources(n.Available)
		e.U32(n.QueueLen)
		e.Bool(n.Alive)
		e.Duration(n.Age)
		e.Duration(n.MeanTaskTime)
		e.Uvarint(n.MeanBandwidth)
		n.Store.marshal(e)
	}
	e.String(m.Removed)
}

// Fewest bytes one element of these lists takes on the wire (see
// Decoder.Count), from their encoders' field lists:
const (
	// a NodeStatus: Node, Name, Role, Addr, Incarnation (a byte each), two
	// resource bundles (CPU, GPU, count: 3 bytes each), QueueLen (4),
	// Alive, Age, MeanTaskTime, MeanBandwidth, the store's five numbers.
	minNodeStatusBytes = 5 + 2*3 + 4 + 1 + 1 + 2 + 5
	// a TraceRecord: At, Kind, Node, Peer (a byte each), Task (8), Object
	// (9), Bytes, Detail (a byte each).
	minTraceRecordBytes = 4 + 8 + 9 + 2
)

func (m *StatusReply) UnmarshalWire(d *Decoder) {
	n := d.Count(MaxCount, minNodeStatusBytes)
	if n > 0 {
		m.Nodes = make([]NodeStatus, n)
	}
	for i := range m.Nodes {
		s := &m.Nodes[i]
		s.Node, s.Name, s.Role, s.Addr, s.Incarnation = d.Node(), d.String(), d.U8(), d.String(), d.Uvarint()
		s.Total, s.Available = d.ResourcesNonNeg(), d.Resources()
		s.QueueLen, s.Alive, s.Age = d.U32(), d.Bool(), d.Duration()
		s.MeanTaskTime, s.MeanBandwidth = d.Duration(), d.Uvarint()
		if s.MeanTaskTime < 0 {
			d.Fail(fmt.Errorf("%w: negative mean task time %v", ErrInvalid, s.MeanTaskTime))
		}
		s.Store.unmarshal(d)
	}
	m.Removed = d.String()
}

func (m *NodeControl) MarshalWire(e *Encoder) {
	e.U8(m.Op)
	e.String(m.Name)
	e.Node(m.Node)
	e.Bool(m.Ack)
	e.Bool(m.Done)
	e.String(m.Err)
	e.Uvarint(m.Seq)
	e.F64(m.Rate)
	e.String(m.By)
}

func (m *NodeControl) UnmarshalWire(d *Decoder) {
	m.Op, m.Name, m.Node, m.Ack, m.Done, m.Err, m.Seq = d.U8(), d.String(), d.Node(), d.Bool(), d.Bool(), d.String(), d.Uvarint()
	m.Rate = d.F64()
	m.By = d.String()
}

func (m *LinkFault) MarshalWire(e *Encoder) {
	e.strings(m.From)
	e.strings(m.To)
	e.Duration(m.Delay)
	e.F64(m.Loss)
	e.Bool(m.Down)
	e.Bool(m.Clear)
	e.Nodes(m.FromNodes)
	e.Nodes(m.ToNodes)
}

func (m *LinkFault) UnmarshalWire(d *Decoder) {
	m.From, m.To = d.strings(), d.strings()
	m.Delay, m.Loss, m.Down, m.Clear = d.Duration(), d.F64(), d.Bool(), d.Bool()
	m.FromNodes, m.ToNodes = d.Nodes(), d.Nodes()
}

func (m *TraceSubscribe) MarshalWire(e *Encoder)   { e.Node(m.Sink); e.Bool(m.Stop) }
func (m *TraceSubscribe) UnmarshalWire(d *Decoder) { m.Sink, m.Stop = d.Node(), d.Bool() }

func (m *TraceBatch) MarshalWire(e *Encoder) {
	e.Uvarint(uint64(len(m.Records)))
	for i := range m.Records {
		r := &m.Records[i]
		e.Varint(r.At.UnixNano())
		ev := &r.Event
		e.U8(uint8(ev.Kind))
		e.Node(ev.Node)
		e.Node(ev.Peer)
		e.Task(ev.Task)
		e.Object(ev.Object)
		e.Varint(ev.Bytes)
		e.String(ev.Detail)
	}
}

func (m *TraceBatch) UnmarshalWire(d *Decoder) {
	n := d.Count(MaxCount, minTraceRecordBytes)
	if n == 0 {
		return
	}
	m.Records = make([]TraceRecord, n)
	for i := range m.Records {
		r := &m.Records[i]
		r.At = time.Unix(0, d.Varint())
		r.Event = Event{Kind: EventKind(d.U8()), Node: d.Node(), Peer: d.Node(), Task: d.Task(),
			Object: d.Object(), Bytes: d.Varint(), Detail: d.String()}
	}
}

func init() {
	register(KindJoinRequest, func() Message { return new(JoinRequest) })
	register(KindJoinReply, func() Message { return new(JoinReply) })
	register(KindAddressBook, func() Message { return new(AddressBook) })
	register(KindLeave, func() Message { return new(Leave) })
	register(KindStatusRequest, func() Message { return new(StatusRequest) })
	register(KindStatusReply, func() Message { return new(StatusReply) })
	register(KindNodeControl, func() Message { return new(NodeControl) })
	register(KindLinkFault, func() Message { return new(LinkFault) })
	register(KindTraceSubscribe, func() Message { return new(TraceSubscribe) })
	register(KindTraceBatch, func() Message { return new(TraceBatch) })
	register(KindStoreReport, func() Message { return new(StoreReport) })
	register(KindBookRequest, func() Message { return new(BookRequest) })
}
