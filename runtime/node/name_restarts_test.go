package node

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// overs are the caller-over words in sent.
func overs(sent []transport.Message) []transport.TaskID {
	var out []transport.TaskID
	for _, m := range sent {
		if d, ok := m.(*transport.CallsDone); ok && d.Over > 0 {
			out = append(out, d.Caller)
		}
	}
	return out
}

// TestRouteRestartsFromEitherShard: a raylet that found a named actor by
// name hears of it from the name's shard, and, once its calls waited,
// from the actor's own shard too, in any order between the two. A
// route's restarts went to whatever the last news said: the name's
// shard's "alive" of the restarted instance that came before the word of
// the restart reached it (Restarts 0: the first instance's) dropped the
// caller-over words held while the actor restarted, flipped the route's
// count back to 0 after the actor's shard's news, so that callers over
// later were never said over to the restarted instance, and moved the
// route spuriously to the same instance when the count came again. A
// route's count does not go back for the instance it points at, and
// words wait for the restarted instance while news of an older one
// comes. (Fails before: the held word was dropped, the later one not
// sent.)
func TestRouteRestartsFromEitherShard(t *testing.T) {
	r, env := hostileRaylet(t, 0)
	const actor = transport.ActorID(5 << 20)
	info := func(node transport.NodeID, state uint8, restarts uint32) {
		t.Helper()
		m, err := roundTrip(&transport.ActorInfo{Actor: actor, Node: node, State: state, Found: true, Restarts: restarts, Incarnation: map[bool]uint64{true: 1}[node != 0]})
		require.NoError(t, err)
		r.Handle(50, m)
	}
	view := func() RouteView {
		t.Helper()
		for _, v := range r.Routes() {
			if v.Actor == actor {
				return v
			}
		}
		t.Fatal("no route")
		return RouteView{}
	}
	info(7, transport.ActorAlive, 0) // the first instance, found by name
	// The actor restarts: the actor's shard says so (its count); a caller
	// here ends meanwhile, its word held for the restarted instance.
	info(0, transport.ActorRestarting, 1)
	r.overWord(actor, 100, 3)
	env.sent = nil
	// The restarted instance's "alive" from the name's shard, before it
	// heard of the restart: the count of the instance before.
	info(8, transport.ActorAlive, 0)
	assert.Empty(t, overs(env.sent), "the held word went to an instance not known restarted")
	r.overWord(actor, 101, 2) // another caller over
	// The actor's shard's news of the same instance, counted.
	info(8, transport.ActorAlive, 1)
	assert.Equal(t, []transport.TaskID{100, 101}, overs(env.sent), "the words held while the news was older reach the restarted instance")
	assert.EqualValues(t, 1, view().Restarts)

	// The name's shard's older count again (a publication sent before it
	// heard of the restart, slow): the route keeps its count and does not
	// move.
	env.sent = nil
	info(8, transport.ActorAlive, 0)
	assert.EqualValues(t, 1, view().Restarts, "the route's count went back for the same instance")
	assert.Equal(t, transport.NodeID(8), view().Node)
	r.overWord(actor, 102, 4)
	assert.Equal(t, []transport.TaskID{102}, overs(env.sent), "a caller over is not said over to the restarted instance")

	// A restart on the same node (its worker crashed) is a new instance.
	info(8, transport.ActorAlive, 2)
	assert.EqualValues(t, 2, view().Restarts)

	// A "restarting" of the count the route has (older news from the
	// other shard, or the next restart's before its count), and again:
	// the word held meanwhile waits for an instance alive.
	info(0, transport.ActorRestarting, 2)
	r.overWord(actor, 103, 1)
	env.sent = nil
	info(0, transport.ActorRestarting, 2)
	assert.Empty(t, overs(env.sent))
	info(9, transport.ActorAlive, 3)
	assert.Equal(t, []transport.TaskID{103}, overs(env.sent), "a word held while the actor restarted was dropped")

	// An actor's first instance is told nothing: it restored nothing.
	const first = transport.ActorID(6 << 20)
	r.routes[first] = &route{state: transport.ActorPending}
	r.overWord(first, 200, 1)
	env.sent = nil
	m, err := roundTrip(&transport.ActorInfo{Actor: first, Node: 7, State: transport.ActorAlive, Found: true, Incarnation: 1})
	require.NoError(t, err)
	r.Handle(50, m)
	assert.Empty(t, overs(env.sent))
	assert.Empty(t, r.routes[first].overs)
}
