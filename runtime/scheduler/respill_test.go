package scheduler

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

// TestRespillOfferAndPlacement: a heartbeat (the node table's copy) that
// reports a queue is answered with the other nodes' free room
// (ClusterRoom), room offered is not offered again before the node's
// next heartbeat, and a re-spilled task goes only where its resources are
// free, else back to its sender, with a reason saying which; the sender's
// own heartbeat, sent to the scheduler directly, is not answered.
func TestRespillOfferAndPlacement(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{5, 6, 7}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	two, four := transport.MakeResources(2, 0, nil), transport.MakeResources(4, 0, nil)
	for _, n := range []transport.NodeID{5, 6, 7} {
		g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: four})
	}
	beat := func(from, n transport.NodeID, avail transport.Resources, queue uint32) {
		g.Handle(from, &transport.Heartbeat{Node: n, Incarnation: 1, Total: four, Available: avail, QueueLen: queue})
	}
	rooms := func() []*transport.ClusterRoom {
		var out []*transport.ClusterRoom
		for _, m := range env.sent {
			if r, ok := m.(*transport.ClusterRoom); ok {
				out = append(out, r)
			}
		}
		return out
	}
	beat(50, 6, two, 0)                   // node 6 has 2 CPUs free
	beat(50, 7, transport.Resources{}, 0) // node 7 none
	beat(5, 5, transport.Resources{}, 9)  // node 5's own, direct: no answer
	require.Empty(t, rooms())
	beat(50, 5, transport.Resources{}, 9)
	require.Len(t, rooms(), 1)
	assert.Equal(t, []transport.NodeRoom{{Node: 6, Available: two}}, rooms()[0].Nodes)
	assert.Equal(t, transport.NodeID(5), env.to[len(env.to)-1])
	beat(50, 5, transport.Resources{}, 9)
	require.Len(t, rooms(), 1, "node 6's room was offered already")

	one := transport.MakeResources(1, 0, nil)
	respill := func(id transport.TaskID) (transport.NodeID, string) {
		env.sent, env.to = nil, nil
		g.Handle(5, &transport.RespillTask{SpillTask: transport.SpillTask{Spec: transport.TaskSpec{ID: id, Owner: 5, Func: "f", Resources: one}}})
		for i, m := range env.sent {
			if p, ok := m.(*transport.PlaceTask); ok {
				return env.to[i], p.Reason
			}
		}
		return 0, ""
	}
	for id := transport.TaskID(1); id <= 2; id++ {
		at, why := respill(id)
		assert.Equal(t, transport.NodeID(6), at, "the node with room")
		assert.True(t, strings.HasPrefix(why, ReasonRespill+" ("), why)
	}
	at, why := respill(3)
	assert.Equal(t, transport.NodeID(5), at, "no room left anywhere: back to its sender")
	assert.True(t, strings.HasPrefix(why, ReasonRespillBack+" ("), why)

	// Node 7's heartbeat shows room: offered at once to the backlogged node.
	env.sent, env.to = nil, nil
	beat(50, 7, one, 0)
	require.Len(t, rooms(), 1)
	assert.Equal(t, []transport.NodeRoom{{Node: 7, Available: one}}, rooms()[0].Nodes)
	assert.Equal(t, transport.NodeID(5), env.to[0])
}

// TestHeartbeatCountsPlacementsInFlight: a heartbeat sent before the node
// had the scheduler's latest placements (its Placed below their Seq)
// shows their resources free; the view keeps them taken until a
// heartbeat that had them. Before, such a heartbeat undid the view's
// count of its own placements, and the next spills (or re-spills) went to
// the same resources again: a node of 4 CPUs got 8 tasks.
func TestHeartbeatCountsPlacementsInFlight(t *testing.T) {
	env := &sendEnv{}
	pol, err := NewPolicy("")
	require.NoError(t, err)
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{5}}
	g := NewGlobal(env, GlobalConfig{Policy: pol, StartupGrace: -1, Layout: l})
	four, one := transport.MakeResources(4, 0, nil), transport.MakeResources(1, 0, nil)
	g.Handle(50, &transport.RegisterNode{Node: 5, Incarnation: 1, Total: four})
	for id := transport.TaskID(1); id <= 3; id++ {
		g.Handle(7, &transport.SpillTask{Spec: transport.TaskSpec{ID: id, Owner: 7, Func: "f", Resources: one}})
	}
	var seqs []uint64
	for _, m := range env.sent {
		if p, ok := m.(*transport.PlaceTask); ok {
			seqs = append(seqs, p.Seq)
		}
	}
	require.Equal(t, []uint64{1, 2, 3}, seqs, "placements are numbered")
	load := func() NodeLoad { return g.Loads()[0] }
	g.Handle(50, &transport.Heartbeat{Node: 5, Incarnation: 1, Total: four, Available: transport.MakeResources(3, 0, nil), Placed: 1})
	assert.Equal(t, int64(1), load().Available.CPU/transport.ResourceUnit, "placement 1 runs (the heartbeat's count); 2 and 3 are on their way")
	assert.Equal(t, 2, load().QueueLen)
	g.Handle(50, &transport.Heartbeat{Node: 5, Incarnation: 1, Total: four, Available: transport.MakeResources(1, 0, nil), Placed: 3})
	assert.Equal(t, int64(1), load().Available.CPU/transport.ResourceUnit, "all had: the heartbeat's own count")
	assert.Zero(t, load().QueueLen)
	g.Handle(50, &transport.RegisterNode{Node: 5, Incarnation: 2, Total: four})
	assert.Equal(t, int64(4), load().Available.CPU/transport.ResourceUnit, "a new incarnation had none of its predecessor's")
}
