package node

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// awaitEnv is a hostileEnv whose Await runs its function at once (a
// Caller's calls run on the raylet's loop, here the test's goroutine).
type awaitEnv struct{ *hostileEnv }

func (awaitEnv) Await(f func(func())) { f(func() {}) }

// callsSent are the IDs of the ActorCalls in sent.
func callsSent(sent []transport.Message) []transport.TaskID {
	var out []transport.TaskID
	for _, m := range sent {
		if c, ok := m.(*transport.ActorCall); ok {
			out = append(out, c.Spec.ID)
		}
	}
	return out
}

// TestLostRestartKillLapses: Kill(h, AllowRestart()) marks the caller's
// route restarting, so that news of the actor alive at the count it was
// killed at is taken for older than the kill. On TCP the kill reaches a
// remote host in one frame, which may be lost; the actor then stays alive
// at that count, and the calls from the killing node waited for good
// (review32b #1). The mark lapses: news of the instance alive at that
// count after killMarkWait delivers them to it. (Fails before: the call
// was never sent.)
func TestLostRestartKillLapses(t *testing.T) {
	he := &hostileEnv{self: 1}
	r, _ := hostileRaylet(t, 0)
	he.now = r.env.Now()
	r = New(awaitEnv{he}, r.cfg)
	r.registered = true
	r.renewLease(r.since())
	const actor = transport.ActorID(5 << 20)
	info := func(state uint8, restarts uint32) {
		t.Helper()
		m, err := roundTrip(&transport.ActorInfo{Actor: actor, Node: 7, State: state, Found: true, Restarts: restarts, Incarnation: 1})
		require.NoError(t, err)
		r.Handle(50, m)
	}
	info(transport.ActorAlive, 0)
	c := &Caller{r: r}
	he.sent = nil
	c.KillActorRestart(actor)
	var kills int
	for _, m := range he.sent {
		if k, ok := m.(*transport.KillActor); ok && k.Actor == actor && !k.NoRestart {
			kills++
		}
	}
	require.Equal(t, 1, kills, "the kill's frame to the host")
	he.sent = nil // and it is lost

	r.routeCall(&transport.TaskSpec{ID: 77, Actor: actor, Owner: 1, NumReturns: 1})
	// Soon after the kill, news of the instance alive at its count is
	// older than the kill: the call waits for the restart.
	info(transport.ActorAlive, 0)
	assert.Empty(t, callsSent(he.sent), "a call went to the instance the kill ends")

	// Long after it, the same news says the kill was lost: the call goes
	// to the instance that still runs.
	he.now = he.now.Add(r.killMarkWait())
	info(transport.ActorAlive, 0)
	assert.Equal(t, []transport.TaskID{77}, callsSent(he.sent), "the calls wait for good on a lost kill")
	assert.Zero(t, r.routes[actor].bounced)

	// A kill that took effect: the restart's news moves the route, and a
	// late "alive" of the killed instance within the wait is held out.
	c.KillActorRestart(actor)
	he.sent = nil
	info(transport.ActorAlive, 0)
	r.routeCall(&transport.TaskSpec{ID: 78, Actor: actor, Owner: 1, NumReturns: 1})
	assert.Empty(t, callsSent(he.sent))
	info(transport.ActorRestarting, 1)
	info(transport.ActorAlive, 1)
	assert.Equal(t, []transport.TaskID{78}, callsSent(he.sent))
}
