package scheduler

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// TestStartupWorkIsLinear: while the scheduler waits for every raylet of
// the layout to register (start-up), each registration asked whether all
// had come by scanning them all: N²/2 index lookups for N raylets, 34% of
// a 10,000-node start-up's CPU (QA32). The scan now resumes where it
// stopped, so the raylets looked at over a whole start-up stay linear (at
// most N, plus one per registration: 3N here, where each is sent twice) in
// any order of registrations; and start-up still ends exactly at the last
// one. (Fails before, the old scan counting its looks: 2092 for 100
// raylets shuffled.)
func TestStartupWorkIsLinear(t *testing.T) {
	pol, err := NewPolicy("")
	require.NoError(t, err)
	cpu := transport.MakeResources(1, 0, nil)
	for _, n := range []int{100, 1000, 4000} {
		for name, shuffle := range map[string]func([]transport.NodeID){
			"in order": func([]transport.NodeID) {},
			"reversed": func(ids []transport.NodeID) {
				for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
					ids[i], ids[j] = ids[j], ids[i]
				}
			},
			"shuffled": func(ids []transport.NodeID) {
				r := rand.New(rand.NewPCG(uint64(n), 7))
				r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			},
		} {
			l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60}
			for i := range n {
				l.Raylets = append(l.Raylets, transport.NodeID(100+i))
			}
			g := NewGlobal(&sendEnv{}, GlobalConfig{Policy: pol, StartupGrace: 1 << 40, Layout: l})
			require.True(t, g.starting)
			order := append([]transport.NodeID(nil), l.Raylets...)
			shuffle(order)
			for i, id := range order {
				require.True(t, g.starting, "n=%d %s: start-up ended before registration %d of %d", n, name, i+1, n)
				g.Handle(50, &transport.RegisterNode{Node: id, Incarnation: 1, Total: cpu})
				g.Handle(50, &transport.RegisterNode{Node: id, Incarnation: 1, Total: cpu}) // sent again
			}
			require.False(t, g.starting, "n=%d %s: every raylet registered", n, name)
			require.LessOrEqual(t, g.regLooks, 3*n, "n=%d %s: raylets looked at over the start-up (per registration: %.1f)",
				n, name, float64(g.regLooks)/float64(n))
		}
	}
}
