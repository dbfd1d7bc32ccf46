package scheduler

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// sendEnv is an Env that records what is sent, and to whom, and runs
// nothing later.
type sendEnv struct {
	sent []transport.Message
	to   []transport.NodeID
}

type noTimer struct{}

func (noTimer) Stop() bool { return false }

func (*sendEnv) Self() transport.NodeID                      { return 1 << 20 }
func (*sendEnv) Now() time.Time                              { return time.Unix(0, 0) }
func (*sendEnv) After(time.Duration, func()) transport.Timer { return noTimer{} }
func (*sendEnv) Rand() *rand.Rand                            { return rand.New(rand.NewPCG(1, 2)) }
func (e *sendEnv) Send(to transport.NodeID, m transport.Message) {
	e.sent, e.to = append(e.sent, m), append(e.to, to)
}

// placedOn lists the nodes tasks were placed on, in order.
func (e *sendEnv) placedOn() []transport.NodeID {
	var out []transport.NodeID
	for i, m := range e.sent {
		if _, ok := m.(*transport.PlaceTask); ok {
			out = append(out, e.to[i])
		}
	}
	return out
}
func (*sendEnv) Charge(time.Duration)     {}
func (*sendEnv) Go(func())                {}
func (*sendEnv) Await(func(func()))       {}
func (*sendEnv) Post(func())              {}
func (*sendEnv) Emit(ev *transport.Event) {}

// TestRestartHandedOverTwiceIsPlacedOnce: a GCS chain's new tail hands the
// scheduler again every restart not yet up (its predecessor's request may
// have died with it); one the scheduler had already is not placed again —
// two placements of one restart would start two instances of the actor. A
// later restart of the same actor is placed.
func TestRestartHandedOverTwiceIsPlacedOnce(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{5}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	cpu := transport.MakeResources(4, 0, nil)
	g.Handle(50, &transport.RegisterNode{Node: 5, Incarnation: 1, Total: cpu}) // forwarded by the node table
	actor := transport.TaskID(77)
	restart := func(n uint32) *transport.SpillTask {
		spec := transport.TaskSpec{ID: actor, Actor: actor, Func: "A", Owner: 9, Resources: transport.MakeResources(1, 0, nil),
			Attempt: transport.RestartAttempt(n), Act: &transport.ActorSpec{Creation: true}}
		return &transport.SpillTask{Spec: spec}
	}
	placed := func() int {
		n := 0
		for _, m := range env.sent {
			if _, ok := m.(*transport.PlaceTask); ok {
				n++
			}
		}
		return n
	}
	g.Handle(50, restart(1))
	require.Equal(t, 1, placed())
	g.Handle(50, restart(1)) // the new tail's hand-over
	require.Equal(t, 1, placed(), "a restart had already is not placed again")
	g.Handle(50, restart(2))
	require.Equal(t, 2, placed(), "the actor's next restart is")

	// Only the GCS decides restarts. A raylet may hand back the latest (it
	// could not take it); a number it made up is not placed, and does not
	// stop the GCS's next restart (it used to: the scheduler kept the
	// highest number it had seen, from anyone).
	g.Handle(5, restart(2))
	require.Equal(t, 3, placed(), "the latest restart handed back by a raylet")
	forged := restart(0)
	forged.Spec.Attempt = math.MaxUint32
	g.Handle(5, forged)
	require.Equal(t, 3, placed(), "a restart number a raylet made up")
	g.Handle(50, restart(3))
	require.Equal(t, 4, placed(), "the GCS's next restart")
}

// TestOnlyNodesRegister: registrations and deaths come from the node table
// (or, for a heartbeat, from the node itself), and never name the
// scheduler or a GCS endpoint: a registration of the scheduler's own ID
// had tasks placed on it, and lost.
func TestOnlyNodesRegister(t *testing.T) {
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{5}}
	cpu := transport.MakeResources(1000, 0, nil)
	for name, tc := range map[string]struct { // each case on its own
		from transport.NodeID
		m    transport.Message
	}{
		"scheduler registered":       {50, &transport.RegisterNode{Node: 60, Incarnation: 1, Total: cpu}},
		"shard registered":           {50, &transport.RegisterNode{Node: 50, Incarnation: 1, Total: cpu}},
		"scheduler heartbeat":        {50, &transport.Heartbeat{Node: 60, Incarnation: 1, Total: cpu, Available: cpu}},
		"registered by a raylet":     {5, &transport.RegisterNode{Node: 7, Incarnation: 1, Total: cpu}},
		"heartbeat for another node": {5, &transport.Heartbeat{Node: 7, Incarnation: 1, Total: cpu, Available: cpu}},
	} {
		env := &sendEnv{}
		g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
		g.Handle(tc.from, tc.m)
		g.Handle(5, &transport.SpillTask{Spec: transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 5}})
		for _, m := range env.sent {
			_, placed := m.(*transport.PlaceTask)
			require.False(t, placed, "%s: a task was placed on what is not a node", name)
		}
	}

	env := &sendEnv{}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	g.Handle(50, &transport.RegisterNode{Node: 5, Incarnation: 1, Total: cpu})
	g.Handle(7, &transport.NodeDead{Node: 5, Incarnation: 1}) // not from the GCS
	g.Handle(5, &transport.SpillTask{Spec: transport.TaskSpec{ID: 100, Func: "f", NumReturns: 1, Owner: 5}})
	require.NotEmpty(t, env.sent)
	require.IsType(t, &transport.PlaceTask{}, env.sent[0], "a death a raylet made up stopped placements on node 5")
}

// TestHeartbeatCannotPoisonWaits: the wait estimate is queue length times
// mean task time; a heartbeat claiming 2^32-1 tasks of 2^40 ns each
// overflowed it negative, and the node claiming the longest wait won every
// placement. The estimate saturates, and a negative mean task time (which
// the wire now refuses) counts as zero.
func TestHeartbeatCannotPoisonWaits(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 2}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	cpu := transport.MakeResources(1, 0, nil)
	for _, n := range []transport.NodeID{1, 2} {
		g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: cpu})
	}
	g.Handle(50, &transport.Heartbeat{Node: 1, Incarnation: 1, Total: cpu, Available: cpu, MeanTaskTime: time.Millisecond})
	g.Handle(50, &transport.Heartbeat{Node: 2, Incarnation: 1, Total: cpu, QueueLen: math.MaxUint32, MeanTaskTime: 1 << 40})
	for i := range 3 {
		g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: transport.TaskID(100 + i), Func: "f", NumReturns: 1, Owner: 1}})
	}
	require.NotContains(t, env.placedOn(), transport.NodeID(2), "the node claiming the longest wait won a placement")

	d := &Decision{Bandwidth: 1e9, ArgBytes: math.MaxInt64}
	for _, c := range []Candidate{
		{Total: cpu, QueueLen: math.MaxUint32, MeanTaskTime: math.MaxInt64},
		{Total: cpu, QueueLen: 1, MeanTaskTime: -time.Hour},
		{QueueLen: math.MaxUint32, MeanTaskTime: 1 << 40}, // no CPUs
	} {
		require.GreaterOrEqual(t, EstimatedWait(d, &c), time.Duration(0), "%+v", c)
	}
}

// TestCancelledHeldTaskLeavesNoWarning: the scheduler remembers which held
// (infeasible) tasks it has warned about, so a task held again is not
// warned twice; a cancel dropped the held task but kept its record, one
// per cancelled infeasible task for the scheduler's life.
func TestCancelledHeldTaskLeavesNoWarning(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{5}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	g.Handle(50, &transport.RegisterNode{Node: 5, Incarnation: 1, Total: transport.MakeResources(4, 0, nil)})
	for id := transport.TaskID(100); id < 110; id++ {
		spec := transport.TaskSpec{ID: id, Func: "f", Owner: 5, Resources: transport.MakeResources(1, 1, nil)} // no node has a GPU
		g.Handle(5, &transport.SpillTask{Spec: spec})
		g.Handle(5, &transport.CancelTask{Task: id})
	}
	require.Empty(t, g.Infeasible(), "cancelled tasks still held")
	require.Empty(t, g.warned, "warnings kept for cancelled tasks")
}
