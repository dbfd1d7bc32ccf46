package replay

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"raysim/netsim"
	"raysim/runtime/gcs"
	"raysim/runtime/node"
	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/traces"
)

// State is the cluster's state where a replay stopped.
type State struct {
	At         time.Duration
	Records    uint64
	Nodes      []NodeState
	Shards     []ShardState
	Scheduler  []scheduler.NodeLoad
	Infeasible []transport.TaskID
	Pending    []PendingGroup // messages in flight
	InFlight   int
	Partitions []string // partitions and cuts in force, endpoints named
	Degraded   []string // degraded links, endpoints named
	Limit      int
}

// NodeState is one node.
type NodeState struct {
	Index     int
	ID        transport.NodeID
	Name      string
	Alive     bool
	Queue     int
	Available transport.Resources
	Tasks     []node.TaskView
	Fetches   []node.FetchView
	Actors    []node.ActorView
	Routes    []node.RouteView
	Objects   []ObjectState
	NumObj    int
	Used      int64
	Capacity  int64
}

// ObjectState is one object in a node's store.
type ObjectState struct {
	ID      transport.ObjectID
	Size    int64
	Primary bool
}

// ShardState is one GCS shard's tables.
type ShardState struct {
	Index   int
	Alive   bool
	Objects []gcs.ObjectRow
	NumObj  int
	Tasks   []transport.TaskSpec
	NumTask int
	Actors  []transport.ActorInfo
	Nodes   []gcs.NodeRow
}

// PendingGroup counts messages in flight on one link, of one kind.
type PendingGroup struct {
	From, To transport.NodeID
	Msg      transport.Kind
	Count    int
	Oldest   time.Duration // send time of the oldest
}

type linkKey struct {
	from, to transport.NodeID
	msg      transport.Kind
}

// netState follows the network from the records: messages sent and not yet
// delivered or dropped, partitions, degraded links.
type netState struct {
	at       time.Duration
	n        uint64
	pending  map[linkKey][]time.Duration
	parts    []netFault
	degraded map[[2]transport.NodeID]netFault
	// sent: the previous record was a net.send of this link (a drop right
	// after it is that message's, lost at the send: loss, partition, a
	// down destination).
	sent    linkKey
	hasSent bool
}

// netFault is a partition, a cut or a degraded link in force, as the
// records give it (endpoint IDs), named when the state is printed.
type netFault struct {
	from, to transport.NodeID // a cut's or a degraded link's ends
	detail   string           // a partition's groups ("[1 2][4]"); a degrade's model
	cut      bool
	extra    time.Duration // a degrade's added delay
}

// text is f for humans, endpoints named by name.
func (f netFault) text(name func(transport.NodeID) string) string {
	switch {
	case f.cut:
		return fmt.Sprintf("cut %s -> %s", name(f.from), name(f.to))
	case f.from == 0 && f.to == 0:
		return "partition " + traces.NameGroups(f.detail, name)
	}
	return fmt.Sprintf("%s -> %s: +%v %s", name(f.from), name(f.to), f.extra, f.detail)
}

func newNetState() *netState {
	return &netState{pending: make(map[linkKey][]time.Duration), degraded: make(map[[2]transport.NodeID]netFault)}
}

func (s *netState) add(r *traces.Record) {
	s.at, s.n = r.At, s.n+1
	justSent := s.hasSent
	s.hasSent = false
	k, ok := r.NetKind()
	if !ok {
		return
	}
	key := linkKey{r.Node, r.Peer, r.Msg}
	if k == netsim.EvSend {
		s.sent, s.hasSent = key, true
	}
	switch k {
	case netsim.EvSend, netsim.EvDuplicate:
		s.pending[key] = append(s.pending[key], r.At)
	case netsim.EvDeliver:
		s.pop(key)
	case netsim.EvDrop:
		switch {
		case r.Detail == netsim.DropSender: // never sent (no net.send record)
		case justSent && s.sent == key: // lost at its send: the newest
			if q := s.pending[key]; len(q) > 1 {
				s.pending[key] = q[:len(q)-1]
			} else {
				delete(s.pending, key)
			}
		default: // lost in flight: the oldest (a link delivers in order)
			s.pop(key)
		}
	case netsim.EvPartition:
		if r.Detail == "cut" {
			s.parts = append(s.parts, netFault{cut: true, from: r.Node, to: r.Peer})
		} else {
			s.parts = append(s.parts, netFault{detail: r.Detail})
		}
	case netsim.EvHeal:
		if r.Detail == "" { // every partition and cut
			s.parts = nil
			break
		}
		// One partition (HealPartition: a fault's own end), named by its
		// groups (of two alike, either: they print the same).
		if i := slices.Index(s.parts, netFault{detail: r.Detail}); i >= 0 {
			s.parts = slices.Delete(s.parts, i, i+1)
		}
	case netsim.EvDegrade:
		l := [2]transport.NodeID{r.Node, r.Peer}
		if r.Detail == "restore" {
			delete(s.degraded, l)
		} else {
			s.degraded[l] = netFault{from: r.Node, to: r.Peer, extra: time.Duration(r.Bytes), detail: r.Detail}
		}
	}
}

func (s *netState) pop(k linkKey) {
	q := s.pending[k]
	if len(q) <= 1 {
		delete(s.pending, k)
		return
	}
	s.pending[k] = q[1:]
}

func snapshot(c *ray.Sim, net *netState, limit int) *State {
	sim := c.Netsim()
	st := &State{At: sim.Now(), Records: net.n, Limit: limit}
	for i, nc := range c.Nodes() {
		ns := NodeState{Index: i, ID: ray.RayletID(i), Name: nc.Name}
		if r := c.Raylet(i); r != nil {
			ns.Alive = true
			ns.Queue = r.QueueLen()
			ns.Available = r.Available()
			ns.Tasks = r.Tasks()
			ns.Fetches = r.Fetches()
			ns.Actors = r.Actors()
			ns.Routes = r.Routes()
			store := r.Store()
			ns.Used, ns.Capacity, ns.NumObj = store.Used(), store.Capacity(), store.Len()
			ids := store.IDs()
			slices.SortFunc(ids, compareObjects)
			for _, id := range ids[:min(len(ids), limit)] {
				if e, ok := store.Get(id); ok {
					ns.Objects = append(ns.Objects, ObjectState{ID: id, Size: e.Value.SizeOf(), Primary: e.Primary})
				}
			}
		}
		st.Nodes = append(st.Nodes, ns)
	}
	for j := 0; j < c.Shards(); j++ {
		ss := ShardState{Index: j}
		if sh := c.Shard(j); sh != nil {
			ss.Alive = true
			ss.Objects, ss.NumObj = sh.ObjectRows(limit)
			ss.Tasks, ss.NumTask = sh.TaskRows(limit)
			ss.Actors = sh.ActorRows()
			ss.Nodes = sh.NodeRows()
		}
		st.Shards = append(st.Shards, ss)
	}
	if g := c.Global(); g != nil {
		st.Scheduler = g.Loads()
		for _, s := range g.Infeasible() {
			st.Infeasible = append(st.Infeasible, s.ID)
		}
	}
	for k, q := range net.pending {
		st.Pending = append(st.Pending, PendingGroup{From: k.from, To: k.to, Msg: k.msg, Count: len(q), Oldest: q[0]})
		st.InFlight += len(q)
	}
	slices.SortFunc(st.Pending, func(a, b PendingGroup) int {
		return cmp.Or(cmp.Compare(a.Oldest, b.Oldest), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Msg, b.Msg))
	})
	st.netFaults(net)
	return st
}

// netFaults fills st's partitions and degraded links from net, endpoints
// named as st's nodes are (not by ID: "partition [head, worker-0][worker-2]").
func (st *State) netFaults(net *netState) {
	name := func(id transport.NodeID) string { return endpoint(st, id) }
	for _, p := range net.parts {
		st.Partitions = append(st.Partitions, p.text(name))
	}
	for _, d := range net.degraded {
		st.Degraded = append(st.Degraded, d.text(name))
	}
	slices.Sort(st.Degraded)
}

func compareObjects(a, b transport.ObjectID) int {
	if c := cmp.Compare(a.Task, b.Task); c != 0 {
		return c
	}
	if a.Put != b.Put {
		if a.Put {
			return 1
		}
		return -1
	}
	return cmp.Compare(a.Index, b.Index)
}

// endpoint names an endpoint ID for humans.
func endpoint(st *State, id transport.NodeID) string {
	for _, n := range st.Nodes {
		if n.ID == id {
			return n.Name
		}
	}
	if id >= ray.SchedulerID { // the scheduler, GCS shards and replicas, the chain master
		return traces.EndpointName(id)
	}
	return fmt.Sprintf("node%d", id)
}

// Print writes the state for humans; each table shows at most st.Limit rows.
func (st *State) Print(w io.Writer) {
	lim := st.Limit
	more := func(shown, total int) string {
		if total > shown {
			return fmt.Sprintf("  ... %d more\n", total-shown)
		}
		return ""
	}
	fmt.Fprintf(w, "cluster state at virtual time %v (after %d events)\n", st.At, st.Records)
	fmt.Fprintf(w, "\nnetwork: %d messages in flight\n", st.InFlight)
	for i, p := range st.Pending {
		if i == lim {
			fmt.Fprint(w, more(lim, len(st.Pending)))
			break
		}
		fmt.Fprintf(w, "  %-10s -> %-10s %-18s x%-4d oldest sent at %v\n", endpoint(st, p.From), endpoint(st, p.To), traces.MsgName(p.Msg), p.Count, p.Oldest)
	}
	if len(st.Partitions) == 0 {
		fmt.Fprintln(w, "partitions: none")
	}
	for _, p := range st.Partitions {
		fmt.Fprintf(w, "partitions: %s\n", p)
	}
	for _, d := range st.Degraded {
		fmt.Fprintf(w, "degraded:  %s\n", d)
	}
	for _, n := range st.Nodes {
		if !n.Alive {
			fmt.Fprintf(w, "\nnode %s (id %d): DOWN\n", n.Name, n.ID)
			continue
		}
		fmt.Fprintf(w, "\nnode %s (id %d): queue %d, available %v, store %d objects, %d/%d bytes\n",
			n.Name, n.ID, n.Queue, n.Available, n.NumObj, n.Used, n.Capacity)
		counts := map[string]int{}
		for _, t := range n.Tasks {
			counts[t.State]++
		}
		fmt.Fprintf(w, "  tasks: %d running, %d blocked, %d queued, %d waiting for arguments\n",
			counts["running"], counts["blocked"], counts["queued"], counts["waiting-args"])
		for i, t := range n.Tasks {
			if i == lim {
				fmt.Fprint(w, more(lim, len(n.Tasks)))
				break
			}
			line := fmt.Sprintf("    %v %-14s %-12s", t.ID, t.Name, t.State)
			if t.Missing > 0 {
				line += fmt.Sprintf(" missing %d args", t.Missing)
			}
			if t.State == "running" || t.State == "blocked" {
				line += fmt.Sprintf(" since %v", t.Start.Sub(netsim.DefaultEpoch))
			}
			fmt.Fprintln(w, line)
		}
		for i, a := range n.Actors {
			if i == lim {
				fmt.Fprint(w, more(lim, len(n.Actors)))
				break
			}
			fmt.Fprintf(w, "  actor %v: %d queued calls, busy %v, dead %v\n", a.ID, a.Queued, a.Busy, a.Dead)
		}
		for i, rt := range n.Routes {
			if i == lim {
				fmt.Fprint(w, more(lim, len(n.Routes)))
				break
			}
			fmt.Fprintf(w, "  route to actor %v: node %d inc %d, %s (restarts %d), %d pending calls, subscribed %v, asking %v\n",
				rt.Actor, rt.Node, rt.Inc, actorState(rt.State), rt.Restarts, rt.Pending, rt.LookedUp, rt.Asking)
		}
		if len(n.Fetches) > 0 {
			pulling := 0
			for _, f := range n.Fetches {
				if f.Pulling {
					pulling++
				}
			}
			fmt.Fprintf(w, "  fetches: %d objects wanted, %d being pulled\n", len(n.Fetches), pulling)
		}
		for i, f := range n.Fetches {
			if i == lim {
				fmt.Fprint(w, more(lim, len(n.Fetches)))
				break
			}
			from := "(locating)"
			if f.Source != 0 {
				from = "from " + endpoint(st, f.Source)
			}
			fmt.Fprintf(w, "    %v %s: %d/%d bytes\n", f.Object, from, f.Got, f.Total)
		}
		if len(n.Objects) > 0 {
			fmt.Fprintln(w, "  objects:")
		}
		for _, o := range n.Objects {
			p := ""
			if o.Primary {
				p = " primary"
			}
			fmt.Fprintf(w, "    %v %d bytes%s\n", o.ID, o.Size, p)
		}
		fmt.Fprint(w, more(len(n.Objects), n.NumObj))
	}
	for _, s := range st.Shards {
		if !s.Alive {
			fmt.Fprintf(w, "\ngcs shard %d: DOWN\n", s.Index)
			continue
		}
		fmt.Fprintf(w, "\ngcs shard %d: %d objects, %d tasks, %d actors, %d nodes\n", s.Index, s.NumObj, s.NumTask, len(s.Actors), len(s.Nodes))
		for _, o := range s.Objects {
			names := make([]string, len(o.Nodes))
			for i, id := range o.Nodes {
				names[i] = endpoint(st, id)
			}
			fmt.Fprintf(w, "  object %v %d bytes at [%s] subscribers %d\n", o.Object, o.Size, strings.Join(names, " "), o.Subscribers)
		}
		fmt.Fprint(w, more(len(s.Objects), s.NumObj))
		for _, t := range s.Tasks {
			fmt.Fprintf(w, "  task %v %s owner %s\n", t.ID, t.Name, endpoint(st, t.Owner))
		}
		fmt.Fprint(w, more(len(s.Tasks), s.NumTask))
		for i, a := range s.Actors {
			if i == lim {
				fmt.Fprint(w, more(lim, len(s.Actors)))
				break
			}
			line := fmt.Sprintf("  actor %v", a.Actor)
			if a.Name != "" {
				line += " " + transport.ActorNameText(a.Name) // the name, and its namespace
			}
			if a.Class != "" {
				line += " (" + a.Class + ")"
			}
			line += fmt.Sprintf(" on %s, %s", endpoint(st, a.Node), actorState(a.State))
			if a.Cause != "" {
				line += ": " + a.Cause
			}
			fmt.Fprintln(w, line)
		}
		for i, n := range s.Nodes {
			if i == lim {
				fmt.Fprint(w, more(lim, len(s.Nodes)))
				break
			}
			fmt.Fprintf(w, "  node %s inc %d alive %v queue %d available %v\n", endpoint(st, n.Node), n.Incarnation, n.Alive, n.QueueLen, n.Available)
		}
	}
	fmt.Fprintln(w, "\nglobal scheduler:")
	overdrawn := false
	for i, l := range st.Scheduler {
		if i == lim {
			fmt.Fprint(w, more(lim, len(st.Scheduler)))
			break
		}
		fmt.Fprintf(w, "  %s: queue %d, available %v, dead %v, mean task %v, mean bandwidth %d B/s\n", endpoint(st, l.Node), l.QueueLen, l.Available, l.Dead,
			l.MeanTaskTime, l.MeanBandwidth)
		overdrawn = overdrawn || l.Available.CPU < 0 || l.Available.GPU < 0 || slices.ContainsFunc(l.Available.Custom, func(q transport.Quantity) bool { return q.Amount < 0 })
	}
	if overdrawn {
		fmt.Fprintln(w, "  (a negative amount: the scheduler's optimistic view, what the node last heartbeated as free less what it placed there since: more placed than was free, the rest queue on the node)")
	}
	if len(st.Infeasible) > 0 {
		fmt.Fprintf(w, "  %d infeasible tasks held\n", len(st.Infeasible))
	}
}

// actorState names an actor state (transport.ActorPending...).
func actorState(st uint8) string {
	switch st {
	case transport.ActorPending:
		return "pending"
	case transport.ActorAlive:
		return "alive"
	case transport.ActorRestarting:
		return "restarting"
	case transport.ActorDead:
		return "dead"
	}
	return fmt.Sprintf("state %d", st)
}
