// Package gcs is raysim's global control store: the object table (where each
// object's copies are, and its size), the task table (each task's spec: the
// lineage that reconstruction replays), the actor table (state, location,
// names), and the node table (resources, load, liveness), with publish/
// subscribe for object locations and actor state — the publication is what
// wakes a Get. Tables are sharded by ID across GCS shards; each shard is one
// Shard component, an event-driven state machine on the Env seam.
package gcs

import (
	"hash/fnv"
	"slices"

	"raysim/runtime/costs"
	"raysim/runtime/transport"
)

// Layout names the endpoints of a cluster: every component gets the same one.
type Layout struct {
	Shards    []transport.NodeID // GCS shards, in shard order
	Scheduler transport.NodeID   // the global scheduler
	Raylets   []transport.NodeID // every raylet, in node order
}

// ShardOfTask is the shard holding a task's (and its objects') entries.
func (l *Layout) ShardOfTask(t transport.TaskID) transport.NodeID {
	return l.Shards[uint64(t)%uint64(len(l.Shards))]
}

// ShardOfObject is the shard holding an object's entry: its task's shard.
func (l *Layout) ShardOfObject(o transport.ObjectID) transport.NodeID { return l.ShardOfTask(o.Task) }

// ShardOfName is the shard holding an actor name's registration.
func (l *Layout) ShardOfName(name string) transport.NodeID {
	h := fnv.New64a()
	h.Write([]byte(name))
	return l.Shards[h.Sum64()%uint64(len(l.Shards))]
}

// NodeTable is the shard that keeps the node table (and forwards load to the
// global scheduler).
func (l *Layout) NodeTable() transport.NodeID { return l.Shards[0] }

type objectEntry struct {
	size  int64
	nodes []transport.NodeID
	subs  []transport.NodeID // one-shot subscribers waiting for a first location
	next  int                // round-robin over copies when answering
}

type actorEntry struct {
	info transport.ActorInfo
	subs []transport.NodeID
}

type nodeEntry struct {
	reg  transport.RegisterNode
	last transport.Heartbeat
}

// Shard is one GCS shard.
type Shard struct {
	env    transport.Env
	layout *Layout
	costs  costs.Profile

	objects map[transport.ObjectID]*objectEntry
	tasks   map[transport.TaskID]*transport.TaskSpec
	actors  map[transport.ActorID]*actorEntry
	names   map[string]transport.ActorID
	nodes   map[transport.NodeID]*nodeEntry
	nodeIDs []transport.NodeID // registration order, for deterministic iteration
	funcs   uint64             // function-table digest of the first node
}

// New returns an empty shard.
func New(env transport.Env, layout *Layout, c costs.Profile) *Shard {
	return &Shard{
		env: env, layout: layout, costs: c,
		objects: make(map[transport.ObjectID]*objectEntry),
		tasks:   make(map[transport.TaskID]*transport.TaskSpec),
		actors:  make(map[transport.ActorID]*actorEntry),
		names:   make(map[string]transport.ActorID),
		nodes:   make(map[transport.NodeID]*nodeEntry),
	}
}

// Handle implements transport.Handler.
func (s *Shard) Handle(from transport.NodeID, m transport.Message) {
	s.env.Charge(s.costs.Message)
	switch m := m.(type) {
	case *transport.GcsAddTask:
		s.env.Charge(s.costs.GCSWrite)
		spec := m.Spec
		s.tasks[spec.ID] = &spec
	case *transport.GcsAddObject:
		s.addObject(m)
	case *transport.GcsRemoveObject:
		s.env.Charge(s.costs.GCSWrite)
		if e := s.objects[m.Object]; e != nil {
			e.nodes = slices.DeleteFunc(e.nodes, func(n transport.NodeID) bool { return n == m.Node })
		}
	case *transport.GcsSubscribeObject:
		s.subscribe(from, m.Object)
	case *transport.RegisterNode:
		s.register(from, m)
	case *transport.Heartbeat:
		s.env.Charge(s.costs.GCSWrite)
		if e := s.nodes[m.Node]; e != nil {
			e.last = *m
		}
		s.env.Send(s.layout.Scheduler, m)
	case *transport.GcsActorUpdate:
		s.actorUpdate(m)
	case *transport.GcsLookupActor:
		s.lookupActor(from, m)
	}
}

func (s *Shard) addObject(m *transport.GcsAddObject) {
	s.env.Charge(s.costs.GCSWrite)
	s.env.Emit(&transport.Event{Kind: transport.EvGCSWrite, Node: s.env.Self(), Peer: m.Node, Object: m.Object, Bytes: m.Size, Detail: "object"})
	e := s.objects[m.Object]
	if e == nil {
		e = &objectEntry{}
		s.objects[m.Object] = e
	}
	e.size = m.Size
	if !slices.Contains(e.nodes, m.Node) {
		e.nodes = append(e.nodes, m.Node)
	}
	for _, sub := range e.subs {
		s.env.Send(sub, &transport.ObjectLocated{Object: m.Object, Node: m.Node, Size: m.Size})
	}
	e.subs = nil
}

func (s *Shard) subscribe(from transport.NodeID, id transport.ObjectID) {
	s.env.Charge(s.costs.GCSRead)
	s.env.Emit(&transport.Event{Kind: transport.EvGCSSubscribe, Node: s.env.Self(), Peer: from, Object: id})
	e := s.objects[id]
	if e == nil {
		e = &objectEntry{}
		s.objects[id] = e
	}
	if len(e.nodes) == 0 {
		if !slices.Contains(e.subs, from) {
			e.subs = append(e.subs, from)
		}
		return
	}
	// Prefer a copy on the subscriber itself, else spread readers over copies.
	n := e.nodes[e.next%len(e.nodes)]
	e.next++
	if slices.Contains(e.nodes, from) {
		n = from
	}
	s.env.Send(from, &transport.ObjectLocated{Object: id, Node: n, Size: e.size})
}

func (s *Shard) register(from transport.NodeID, m *transport.RegisterNode) {
	s.env.Charge(s.costs.GCSWrite)
	if s.funcs == 0 {
		s.funcs = m.Functions
	} else if m.Functions != s.funcs {
		s.env.Emit(&transport.Event{Kind: transport.EvWarning, Node: s.env.Self(), Peer: m.Node,
			Detail: "node registered a different function table: refusing its registration"})
		return
	}
	if s.nodes[m.Node] == nil {
		s.nodeIDs = append(s.nodeIDs, m.Node)
	}
	s.nodes[m.Node] = &nodeEntry{reg: *m}
	s.env.Emit(&transport.Event{Kind: transport.EvNodeAlive, Node: m.Node})
	s.env.Send(s.layout.Scheduler, m)
}

func (s *Shard) actorUpdate(m *transport.GcsActorUpdate) {
	s.env.Charge(s.costs.GCSWrite)
	e := s.actors[m.Actor]
	if e == nil {
		e = &actorEntry{}
		s.actors[m.Actor] = e
	}
	e.info = transport.ActorInfo{Actor: m.Actor, Node: m.Node, State: m.State, Name: m.Name, Found: true}
	if m.Name != "" && s.layout.ShardOfName(m.Name) == s.env.Self() {
		if m.State == transport.ActorDead {
			if s.names[m.Name] == m.Actor {
				delete(s.names, m.Name)
			}
		} else {
			s.names[m.Name] = m.Actor
		}
	}
	if m.State == transport.ActorPending {
		return // subscribers learn of the actor once it is placed
	}
	for _, sub := range e.subs {
		info := e.info
		s.env.Send(sub, &info)
	}
	if m.State == transport.ActorDead {
		e.subs = nil
	}
}

func (s *Shard) lookupActor(from transport.NodeID, m *transport.GcsLookupActor) {
	s.env.Charge(s.costs.GCSRead)
	id := m.Actor
	if id == 0 {
		var ok bool
		if id, ok = s.names[m.Name]; !ok {
			s.env.Send(from, &transport.ActorInfo{Name: m.Name})
			return
		}
	}
	e := s.actors[id]
	if e == nil {
		e = &actorEntry{info: transport.ActorInfo{Actor: id, State: transport.ActorPending, Found: true}}
		s.actors[id] = e
	}
	if !slices.Contains(e.subs, from) && e.info.State != transport.ActorDead {
		e.subs = append(e.subs, from)
	}
	if e.info.State != transport.ActorPending || m.Actor == 0 {
		info := e.info
		info.Name = m.Name
		if info.Name == "" {
			info.Name = e.info.Name
		}
		s.env.Send(from, &info)
	}
}

// Stats is a snapshot of a shard's table sizes (for status and summaries).
type Stats struct {
	Objects, Tasks, Actors, Nodes int
}

// Stats returns the sizes of the shard's tables.
func (s *Shard) Stats() Stats {
	return Stats{Objects: len(s.objects), Tasks: len(s.tasks), Actors: len(s.actors), Nodes: len(s.nodes)}
}

// Task returns the stored spec of a task (lineage), if this shard has it.
func (s *Shard) Task(id transport.TaskID) (*transport.TaskSpec, bool) {
	t, ok := s.tasks[id]
	return t, ok
}

// Locations returns the known copies of an object.
func (s *Shard) Locations(id transport.ObjectID) []transport.NodeID {
	if e := s.objects[id]; e != nil {
		return slices.Clone(e.nodes)
	}
	return nil
}
