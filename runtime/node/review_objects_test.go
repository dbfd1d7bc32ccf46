package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/objstore"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
)

// reviewRaylet is hostileRaylet with a bounded object store and a third
// raylet (8) in the layout.
func reviewRaylet(t *testing.T, capacity int64) (*Raylet, *hostileEnv) {
	t.Helper()
	env := &hostileEnv{self: 1, now: time.Unix(0, 0)}
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 7, 8}}
	pol, err := scheduler.NewPolicy("")
	require.NoError(t, err)
	r := New(env, Config{Layout: l, Resources: transport.MakeResources(1, 0, nil), Policy: pol,
		ObjectStoreBytes: capacity, Incarnation: 1})
	r.registered = true
	r.renewLease(r.since())
	return r, env
}

// TestPulledTooLargeCopyIsNotServed: a node whose store is smaller than an
// object it pulls stores ErrObjectTooLarge for its own readers (putNotify's
// fallback), but as an ordinary copy: announced to the object table and
// served to other nodes' pulls. A reader on a node whose store can hold
// the object is then told the object is too large, because it happened to
// be sent to the small node's "copy".
func TestPulledTooLargeCopyIsNotServed(t *testing.T) {
	r, env := reviewRaylet(t, 1000)
	id := transport.ObjectID{Task: 77}
	var got transport.Value
	r.need(id, waitFunc(func(e *objstore.Entry) { got = e.Value }))
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 5000})
	r.Handle(7, &transport.ObjectChunk{Object: id, Total: 5000, Data: []byte("x"), Virtual: 4999})
	require.Equal(t, transport.ErrKindObjectTooLarge, got.ErrKind, "the local reader is told (fine)")
	for _, m := range env.sent {
		if a, ok := m.(*transport.GcsAddObject); ok && a.Object == id {
			assert.NotEqual(t, transport.NodeID(1), a.Node, "node 1 announced a copy of %s it does not hold (size %d)", id, a.Size)
		}
	}

	env.sent = nil
	r.Handle(8, &transport.PullRequest{Object: id}) // a node with a large store pulls it from here
	for _, m := range env.sent {
		if c, ok := m.(*transport.ObjectChunk); ok {
			require.Zero(t, c.ErrKind, "node 1 served its local too-large error as the object %s itself", id)
		}
	}
}

// TestStrayPullFailedDoesNotAbortPull: onPullFailed does not look at who
// answered. A late PullFailed from a source an earlier attempt asked (the
// pull from it timed out, it has since evicted its copy) aborts the
// current pull from another node: the good source is struck from the
// locations, its chunks are dropped, and the object is located and pulled
// all over again.
func TestStrayPullFailedDoesNotAbortPull(t *testing.T) {
	r, _ := hostileRaylet(t, 1<<20)
	id := transport.ObjectID{Task: 77}
	fe := pulling(t, r, id, 7)
	fe.pulling = false // what watchPull does when the pull from 7 makes no progress for pullTimeout
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: 8, Size: 1})
	require.True(t, fe.pulling)
	require.Equal(t, transport.NodeID(8), fe.source)

	r.Handle(7, &transport.PullFailed{Object: id}) // 7's late answer to the first request
	require.True(t, fe.pulling, "a PullFailed from 7 aborted the pull from 8")
	r.Handle(8, &transport.ObjectChunk{Object: id, Total: 1, Data: []byte("x")})
	require.True(t, r.store.Contains(id), "8's chunk was dropped")
}

// TestObjectLostFromPeerIgnored: ObjectLost is the object table's news
// (only GCS shards send it), but the raylet takes it from any sender. One
// from a peer raylet about a Put object a reader waits for stores
// ErrObjectLost here for good: the real copy, pulled later, is then "a
// second copy" of an immutable object and changes nothing.
func TestObjectLostFromPeerIgnored(t *testing.T) {
	r, _ := hostileRaylet(t, 1<<20)
	id := transport.ObjectID{Task: 77, Put: true}
	r.need(id, waitFunc(func(*objstore.Entry) {}))
	r.Handle(7, &transport.ObjectLost{Object: id}) // from a peer raylet, not the GCS (50)
	e, ok := r.store.Get(id)
	require.False(t, ok && e.Value.ErrKind == transport.ErrKindObjectLost, "a peer's ObjectLost made %s lost here", id)
}

// TestFreeObjectsFromPeerIgnored: FreeObjects is the object table's order
// (only GCS shards send it), but the raylet takes it from any sender: a
// peer's drops a primary copy, here a Put object that has no lineage to
// be rebuilt from.
func TestFreeObjectsFromPeerIgnored(t *testing.T) {
	r, _ := hostileRaylet(t, 1<<20)
	id := transport.ObjectID{Task: 77, Put: true}
	r.put(id, transport.Value{Data: []byte("v")}, true)
	require.True(t, r.store.Contains(id))
	r.Handle(7, &transport.FreeObjects{Objects: []transport.ObjectID{id}}) // from a peer raylet
	require.True(t, r.store.Contains(id), "a peer's FreeObjects dropped the primary copy of %s", id)
}

// TestObjectLocatedFromPeerIgnored: ObjectLocated is the object table's
// answer (only GCS shards send it), but the raylet records any sender's in
// r.locations, which whenLocated (Wait) and cancelTask take as proof the
// object exists.
func TestObjectLocatedFromPeerIgnored(t *testing.T) {
	r, _ := hostileRaylet(t, 1<<20)
	id := transport.ObjectID{Task: 77}
	r.Handle(7, &transport.ObjectLocated{Object: id, Node: 7, Size: 1}) // from a peer raylet
	_, located := r.locations[id]
	require.False(t, located, "a peer's ObjectLocated was recorded as a location of %s", id)
}

// getEnv is hostileEnv whose Await runs the block at once and then fires
// the timers of duration getTimeout (a Get's timeout), as the loop would
// once nothing else comes.
type getEnv struct {
	*hostileEnv
	due []func()
}

const getTimeout = 12345 * time.Millisecond

func (e *getEnv) After(d time.Duration, f func()) transport.Timer {
	if d == getTimeout {
		e.due = append(e.due, f)
	}
	return noTimer{}
}

func (e *getEnv) Await(f func(func())) {
	woke := false
	f(func() { woke = true })
	for !woke && len(e.due) > 0 {
		g := e.due[0]
		e.due = e.due[1:]
		g()
	}
}

// TestTimedOutGetLeavesNoWaiter: a Get that times out leaves its waiter
// in the object's fetch (Wait takes its registrations back: forgetLocated;
// Get has no counterpart). A driver polling Get(ref, timeout) for a result
// not made yet adds one waiter, with its getState, values and fetch room,
// per poll, all kept until the object comes, or for good if it never does.
func TestTimedOutGetLeavesNoWaiter(t *testing.T) {
	env := &getEnv{hostileEnv: &hostileEnv{self: 1, now: time.Unix(0, 0)}}
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 7}}
	pol, err := scheduler.NewPolicy("")
	require.NoError(t, err)
	r := New(env, Config{Layout: l, Resources: transport.MakeResources(1, 0, nil), Policy: pol, Incarnation: 1})
	r.registered = true
	r.renewLease(r.since())
	c := r.NewDriver(5)
	id := transport.ObjectID{Task: 77}
	for range 100 {
		_, err := c.Get(nil, []transport.ObjectID{id}, getTimeout)
		require.ErrorIs(t, err, ErrTimeout)
	}
	fe := r.fetchOf(id)
	require.NotNil(t, fe)
	more := 0
	if fe.more != nil {
		more = len(*fe.more)
	}
	require.LessOrEqual(t, more, 1, "100 timed-out Gets left %d waiters on %s", 1+more, id)
}
