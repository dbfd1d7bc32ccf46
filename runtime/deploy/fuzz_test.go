package deploy

import (
	"sync"
	"testing"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
	"raysim/runtime/transport/transporttest"
)

// The identifiers of the deploy fuzzers: the head's raylet 1, GCS 50 and
// scheduler 60; the agents of two joined processes (raylet 2, named "n1",
// and a driver); an agent that never joined.
const (
	fzAgent1  = AgentBase + 1
	fzAgent2  = AgentBase + 2
	fzStrange = AgentBase + 3
)

var fzIDs = transporttest.IDs{
	Nodes: []transport.NodeID{1, 2, 3, CoordinatorID, fzAgent1, fzAgent2, fzStrange, 50},
	Tasks: []transport.TaskID{1},
}

var fzSenders = []transport.NodeID{fzAgent1, CoordinatorID, fzAgent2, fzStrange, 1, 2, 50, 60, 0, 666}

// fzHost is a host that never runs: the coordinator and agents keep
// addresses on it, and nothing is dialed.
var fzHost = sync.OnceValue(func() *tcp.Host {
	h, err := tcp.Listen(tcp.Config{Token: []byte("tok"), Self: CoordinatorID, Listen: "127.0.0.1:0"})
	if err != nil {
		panic(err)
	}
	return h
})

type nopLocal struct{}

func (nopLocal) Book(uint64, []transport.BookEntry) {}
func (nopLocal) Control(*transport.NodeControl)     {}
func (nopLocal) LinkFault(*transport.LinkFault)     {}
func (nopLocal) Trace(transport.NodeID, bool)       {}

// fuzzCoordinator is a head's coordinator that has admitted a named
// raylet, a driver, and a trace sink.
func fuzzCoordinator() (*Coordinator, *transporttest.FuzzEnv) {
	env := transporttest.NewFuzzEnv(CoordinatorID)
	env.CheckSends = true
	c := NewCoordinator(env, CoordinatorConfig{Host: fzHost(), Functions: []string{"f"}, Dir: NewDirectory(0), Local: nopLocal{},
		Book: []transport.BookEntry{{Node: CoordinatorID, Addr: "h:1", Agent: CoordinatorID},
			{Node: 1, Addr: "h:2", Name: "head", Role: transport.RoleNode, Agent: CoordinatorID}},
		RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 2) }, Limit: 16})
	env.RunTimers(1)
	c.Handle(fzAgent1, &transport.JoinRequest{Role: transport.RoleNode, Name: "n1", Addr: "h:3", AgentAddr: "h:4", Functions: []string{"f"}})
	c.Handle(fzAgent2, &transport.JoinRequest{Role: transport.RoleDriver, Addr: "h:5", AgentAddr: "h:6", Functions: []string{"f"}})
	env.RunTimers(1) // the publication that answers the joins
	c.Handle(fzAgent2, &transport.TraceSubscribe{Sink: fzAgent2})
	return c, env
}

// FuzzCoordinator delivers hostile messages to the coordinator: none may
// crash it or make it work without bound.
func FuzzCoordinator(f *testing.F) {
	transporttest.AddSeeds(f, fzIDs)
	f.Fuzz(func(t *testing.T, froms, a, b []byte) {
		c, env := fuzzCoordinator()
		d := transporttest.Deliverer{Env: env, Handle: c.Handle, Senders: fzSenders, Timers: 16}
		d.Deliver(froms, a, b)
	})
}

// FuzzAgent delivers hostile messages to a process's agent, and to an
// endpoint wrapping the head's node-table shard and scheduler (the
// directory's Tap and Filter).
func FuzzAgent(f *testing.F) {
	transporttest.AddSeeds(f, fzIDs)
	f.Fuzz(func(t *testing.T, froms, a, b []byte) {
		env := transporttest.NewFuzzEnv(fzAgent1)
		env.CheckSends = true
		ag := NewAgent(env, AgentConfig{Host: fzHost(), Local: nopLocal{},
			OnReply: func(*transport.JoinReply) {}, OnStatus: func(*transport.StatusReply) {},
			OnControl: func(*transport.NodeControl) {}, OnTrace: func(*transport.TraceBatch) {}})
		dir := NewDirectory(0)
		dir.SetRole(2, transport.RoleDriver)
		dir.SetDraining(1)
		l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
		tap := &Endpoint{Handler: nopHandler{}, Host: fzHost(), Layout: l, Tap: dir.Tap, Filter: dir.Filter}
		d := transporttest.Deliverer{Env: env, Senders: fzSenders, Timers: 16, Handle: func(from transport.NodeID, m transport.Message) {
			ag.Handle(from, m)
			tap.Handle(from, m)
			var s transport.NodeStatus
			s.Node = 1
			dir.status(&s, env.Now())
		}}
		d.Deliver(froms, a, b)
	})
}
