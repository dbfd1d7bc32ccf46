package scheduler

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// TestLiveViewsFollowDeaths: the views a placement looks over (Global.live)
// are always the views of nodes not dead, in registration order, whatever
// the order of registrations, deaths and new incarnations.
func TestLiveViewsFollowDeaths(t *testing.T) {
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60}
	cpu := transport.MakeResources(4, 0, nil)
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 100 {
		g := NewGlobal(&sendEnv{}, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
		inc := map[transport.NodeID]uint64{}
		for range rng.IntN(300) {
			n := transport.NodeID(1 + rng.IntN(40))
			if rng.IntN(3) == 0 {
				g.Handle(50, &transport.NodeDead{Node: n, Incarnation: inc[n]})
			} else {
				inc[n] += uint64(rng.IntN(2))
				g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: inc[n], Total: cpu})
			}
			var want []*nodeView
			for _, v := range g.nodes {
				if !v.dead {
					want = append(want, v)
				}
			}
			require.Equal(t, want, g.live, "round %d", round)
		}
	}
}

// BenchmarkPlaceAfterSessions: placements on a cluster of two nodes that
// has seen b's sessions come and go (a driver node each, listed dead in
// the scheduler's view for good: ClusterView lists dead nodes). A
// placement looked over every view, dead ones too.
func BenchmarkPlaceAfterSessions(b *testing.B) {
	for _, sessions := range []int{0, 10_000} {
		b.Run(map[int]string{0: "sessions=0", 10_000: "sessions=10000"}[sessions], func(b *testing.B) {
			pol, err := NewPolicy("")
			require.NoError(b, err)
			l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60}
			env := &sendEnv{}
			g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
			cpu := transport.MakeResources(4, 0, nil)
			for _, n := range []transport.NodeID{1, 2} {
				g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: cpu})
			}
			for n := range transport.NodeID(sessions) {
				g.Handle(50, &transport.RegisterNode{Node: 100 + n, Incarnation: 1})
				g.Handle(50, &transport.NodeDead{Node: 100 + n, Incarnation: 1, JobsEnd: true, Left: true})
			}
			one := transport.MakeResources(1, 0, nil)
			b.ResetTimer()
			for i := range b.N {
				g.Handle(2, &transport.SpillTask{Spec: transport.TaskSpec{ID: transport.TaskID(1000 + i), Func: "f", NumReturns: 1, Owner: 2, Resources: one}})
				if i%64 == 63 {
					env.sent, env.to = env.sent[:0], env.to[:0]
					for _, n := range []transport.NodeID{1, 2} {
						g.Handle(50, &transport.Heartbeat{Node: n, Incarnation: 1, Total: cpu, Available: cpu, Placed: math.MaxUint64})
					}
				}
			}
		})
	}
}
