package transport

// Message kinds of the cluster view (Ray's ray.nodes(),
// ray.cluster_resources(), ray.available_resources()).
const (
	KindClusterQuery Kind = 400 + iota
	KindClusterView
)

// MaxViewNodes bounds the nodes of a ClusterView on the wire (a raysim
// cluster is hundreds of nodes; a scheduler ID space is 2^20).
const MaxViewNodes = 1 << 16

// ClusterQuery asks the global scheduler for its view of the cluster's
// raylets, from a raylet whose caller asks (ray.Nodes): the scheduler
// answers ClusterView with the same Seq.
type ClusterQuery struct{ Seq uint64 }

// ClusterView answers a ClusterQuery: every raylet the global scheduler
// has heard register, once, at its latest incarnation (a node that
// restarted is one entry), in registration order, with the totals and
// free resources of its last heartbeat.
type ClusterView struct {
	Seq   uint64
	Nodes []NodeView
}

// NodeView is one raylet as the global scheduler sees it.
type NodeView struct {
	Node        NodeID
	Incarnation uint64
	Alive       bool // not declared dead (a dead node's resources count nowhere)
	Total       Resources
	Available   Resources
	QueueLen    uint32
}

func (*ClusterQuery) Kind() Kind { return KindClusterQuery }
func (*ClusterView) Kind() Kind  { return KindClusterView }

func (m *ClusterQuery) MarshalWire(e *Encoder)   { e.Uvarint(m.Seq) }
func (m *ClusterQuery) UnmarshalWire(d *Decoder) { m.Seq = d.Uvarint() }

func (m *ClusterView) MarshalWire(e *Encoder) {
	e.Uvarint(m.Seq)
	e.Uvarint(uint64(len(m.Nodes)))
	for _, n := range m.Nodes {
		e.Node(n.Node)
		e.Uvarint(n.Incarnation)
		e.Bool(n.Alive)
		e.Resources(n.Total)
		e.Resources(n.Available)
		e.U32(n.QueueLen)
	}
}

// UnmarshalWire refuses more than MaxViewNodes nodes and negative totals
// (a node's free resources may read negative while it runs over its
// promise, as a heartbeat's may).
func (m *ClusterView) UnmarshalWire(d *Decoder) {
	m.Seq = d.Uvarint()
	if n := d.Count(MaxViewNodes, 12); n > 0 {
		m.Nodes = make([]NodeView, n)
		for i := range m.Nodes {
			v := &m.Nodes[i]
			v.Node, v.Incarnation, v.Alive = d.Node(), d.Uvarint(), d.Bool()
			v.Total, v.Available, v.QueueLen = d.ResourcesNonNeg(), d.Resources(), d.U32()
		}
	}
}

func init() {
	register(KindClusterQuery, func() Message { return new(ClusterQuery) })
	register(KindClusterView, func() Message { return new(ClusterView) })
}
