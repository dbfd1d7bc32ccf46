package deploy

import (
	"testing"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// BenchmarkFollowJoinBurst: an endpoint and an agent of a cluster of 300
// processes follow the deltas of 300 more joining at once (one delta
// each: the joiner's raylet and agent, as the coordinator published them
// before it batched them), arriving 16 at a time (the messages one read
// of a connection hands over, more or less; the agent's deferred work
// runs after each such batch). Per op: the 300 deltas, for one endpoint
// and one agent (every endpoint of the cluster does this work).
func BenchmarkFollowJoinBurst(b *testing.B) { benchFollowJoins(b, 1) }

// BenchmarkFollowJoinBatch is BenchmarkFollowJoinBurst with the joins
// published 16 a delta (the coordinator's batches, Coordinator.changed).
func BenchmarkFollowJoinBatch(b *testing.B) { benchFollowJoins(b, 16) }

// benchFollowJoins: an endpoint and an agent of a cluster of 300
// processes follow 300 more joining, per a joins a delta.
func benchFollowJoins(b *testing.B, per int) {
	const have, joins = 300, 300
	entries := func(i int) []transport.BookEntry {
		return []transport.BookEntry{
			{Node: transport.NodeID(i + 1), Addr: "10.0.0.1:40000", Name: "driver", Role: transport.RoleDriver, Agent: AgentBase + transport.NodeID(i)},
			{Node: AgentBase + transport.NodeID(i), Addr: "10.0.0.1:40001", Name: "driver", Agent: AgentBase + transport.NodeID(i)},
		}
	}
	var full []transport.BookEntry
	for i := range have {
		full = append(full, entries(i)...)
	}
	var deltas []*transport.AddressBook
	for k := 0; k < joins; k += per {
		d := &transport.AddressBook{Epoch: uint64(len(deltas) + 2)}
		for j := k; j < min(k+per, joins); j++ {
			d.Entries = append(d.Entries, entries(have+j)...)
		}
		deltas = append(deltas, d)
	}
	b.ReportAllocs()
	for b.Loop() {
		e := &Endpoint{Handler: nopHandler{}, Layout: &gcs.Layout{}}
		env := &afterEnv{loopEnv: loopEnv{self: AgentBase}}
		a := NewAgent(env, AgentConfig{Local: &seedLocal{}})
		first := &transport.AddressBook{Epoch: 1, Full: true, Entries: full}
		e.Handle(CoordinatorID, first)
		a.Handle(CoordinatorID, first)
		for k, d := range deltas {
			e.Handle(CoordinatorID, d)
			a.Handle(CoordinatorID, d)
			if k%16 == 15 {
				env.fire()
			}
		}
		env.fire()
	}
}

// afterEnv is a loopEnv whose After callbacks run when the test fires
// them (in the order set).
type afterEnv struct {
	loopEnv
	due []func()
}

func (e *afterEnv) After(_ time.Duration, f func()) transport.Timer {
	e.due = append(e.due, f)
	return noTimer{}
}

func (e *afterEnv) fire() {
	due := e.due
	e.due = nil
	for _, f := range due {
		f()
	}
}

// BenchmarkCoordinatorJoinBurst: the head's coordinator, with 300
// processes joined, admits 300 more joining at once, their requests
// arriving 16 a turn of its loop (its timers fire after each 16). Per op:
// the coordinator's work, its sends queued (not encoded); bookframes/op
// is the address-book frames it sends (one delta to every endpoint for
// each join before the deltas were batched, O(N²)).
func BenchmarkCoordinatorJoinBurst(b *testing.B) {
	const have, joins = 300, 300
	h := listenCoordinatorHost(b)
	join := func(c *Coordinator, i int) {
		c.Handle(AgentBase+transport.NodeID(i), &transport.JoinRequest{Role: transport.RoleDriver,
			Functions: []string{"f=func()"}, Addr: "127.0.0.1:1", AgentAddr: "127.0.0.1:2"})
	}
	frames := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		env := &afterEnv{loopEnv: loopEnv{self: CoordinatorID}}
		c := NewCoordinator(env, CoordinatorConfig{Host: h, Functions: []string{"f=func()"}, Dir: NewDirectory(0),
			Local: &recLocal{}, RayletID: func(i int) transport.NodeID { return transport.NodeID(i + 1) },
			Book: []transport.BookEntry{{Node: CoordinatorID, Addr: h.Addr(), Agent: CoordinatorID}}})
		for i := range have {
			join(c, i)
		}
		env.fire()
		env.sent = nil
		b.StartTimer()
		for k := range joins {
			join(c, have+k)
			if k%16 == 15 {
				env.fire()
			}
		}
		env.fire()
		for _, m := range env.sent {
			if _, ok := m.(*transport.AddressBook); ok {
				frames++
			}
		}
	}
	b.ReportMetric(float64(frames)/float64(b.N), "bookframes/op")
}
