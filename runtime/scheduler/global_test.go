package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// sendEnv is an Env that records what is sent and runs nothing later.
type sendEnv struct{ sent []transport.Message }

type noTimer struct{}

func (noTimer) Stop() bool { return false }

func (*sendEnv) Self() transport.NodeID                      { return 1 << 20 }
func (*sendEnv) Now() time.Time                              { return time.Unix(0, 0) }
func (*sendEnv) After(time.Duration, func()) transport.Timer { return noTimer{} }
func (*sendEnv) Rand() *rand.Rand                            { return rand.New(rand.NewPCG(1, 2)) }
func (e *sendEnv) Send(_ transport.NodeID, m transport.Message) {
	e.sent = append(e.sent, m)
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
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1})
	cpu := transport.MakeResources(4, 0, nil)
	g.Handle(5, &transport.RegisterNode{Node: 5, Incarnation: 1, Total: cpu})
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
	g.Handle(1<<20+1, restart(1))
	require.Equal(t, 1, placed())
	g.Handle(1<<20+1, restart(1)) // the new tail's hand-over
	require.Equal(t, 1, placed(), "a restart had already is not placed again")
	g.Handle(1<<20+1, restart(2))
	require.Equal(t, 2, placed(), "the actor's next restart is")
}
