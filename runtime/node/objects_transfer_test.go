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

// boundedRaylet is hostileRaylet with an object store of capacity bytes
// (0: unbounded), the default chunk size and a third raylet (8) in the
// layout. Benchmarks use it too.
func boundedRaylet(t testing.TB, capacity int64) (*Raylet, *hostileEnv) {
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
// fallback). It stored it as an ordinary copy: announced to the object
// table and served to other nodes' pulls, so a reader on a node whose
// store can hold the object was told the object is too large, because it
// happened to be sent to the small node's "copy". Such a copy is now
// neither announced nor served (localOnly).
func TestPulledTooLargeCopyIsNotServed(t *testing.T) {
	r, env := boundedRaylet(t, 1000)
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

// TestStrayPullFailedDoesNotAbortPull: onPullFailed did not look at who
// answered. A late PullFailed from a source an earlier attempt asked (the
// pull from it timed out, it has since evicted its copy) aborted the
// current pull from another node: the good source was struck from the
// locations, its chunks were dropped, and the object was located and
// pulled all over again. Only the source of the pull under way is heard.
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
// (only GCS shards send it), but the raylet took it from any sender. One
// from a peer raylet about a Put object a reader waits for stored
// ErrObjectLost here for good: the real copy, pulled later, was then "a
// second copy" of an immutable object and changed nothing. It is taken
// from the GCS only.
func TestObjectLostFromPeerIgnored(t *testing.T) {
	r, _ := hostileRaylet(t, 1<<20)
	id := transport.ObjectID{Task: 77, Put: true}
	r.need(id, waitFunc(func(*objstore.Entry) {}))
	r.Handle(7, &transport.ObjectLost{Object: id}) // from a peer raylet, not the GCS (50)
	e, ok := r.store.Get(id)
	require.False(t, ok && e.Value.ErrKind == transport.ErrKindObjectLost, "a peer's ObjectLost made %s lost here", id)
}

// TestFreeObjectsFromPeerIgnored: FreeObjects is the object table's order
// (only GCS shards send it), but the raylet took it from any sender: a
// peer's dropped a primary copy, here a Put object that has no lineage to
// be rebuilt from. It is taken from the GCS only.
func TestFreeObjectsFromPeerIgnored(t *testing.T) {
	r, _ := hostileRaylet(t, 1<<20)
	id := transport.ObjectID{Task: 77, Put: true}
	r.put(id, transport.Value{Data: []byte("v")}, true)
	require.True(t, r.store.Contains(id))
	r.Handle(7, &transport.FreeObjects{Objects: []transport.ObjectID{id}}) // from a peer raylet
	require.True(t, r.store.Contains(id), "a peer's FreeObjects dropped the primary copy of %s", id)
}

// TestObjectLocatedFromPeerIgnored: ObjectLocated is the object table's
// answer (only GCS shards send it), but the raylet recorded any sender's
// in r.locations, which whenLocated (Wait) and cancelTask take as proof
// the object exists. It is taken from the GCS only.
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

// TestTimedOutGetLeavesNoWaiter: a Get that timed out left its waiter in
// the object's fetch (Wait takes its registrations back: forgetLocated;
// Get had no counterpart). A driver polling Get(ref, timeout) for a result
// not made yet added one waiter, with its getState, values and fetch room,
// per poll, all kept until the object came, or for good if it never did.
// A Get that ends early now takes its waits back (unneed).
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
	require.NotNil(t, fe, "the fetch stays, as the subscription at the GCS does")
	n := 0
	if fe.first != nil {
		n++
	}
	if fe.more != nil {
		n += len(*fe.more)
	}
	require.Zero(t, n, "100 timed-out Gets left %d waiters on %s", n, id)
	require.False(t, r.waited(id), "no one waits: relocate stops asking")
}

// TestUnneededFetch: a fetch whose readers all left (unneed) stays: a pull
// under way finishes (a driver polling Get with a timeout shorter than the
// transfer would otherwise start it over at every poll), telling no one.
// But nobody waits: news of the object's loss starts no rebuild, nor does
// the node keep asking where the object is (relocate); a reader coming
// back takes the fetch over and asks again.
func TestUnneededFetch(t *testing.T) {
	for _, fail := range []bool{false, true} {
		r, env := hostileRaylet(t, 1<<20)
		id := transport.ObjectID{Task: 77}
		w := &countWaiter{}
		r.need(id, w)
		r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 1})
		r.unneed(id, w)
		fe := r.fetchOf(id)
		require.NotNil(t, fe, "fail=%v: the pull under way was dropped", fail)
		require.True(t, fe.pulling)
		require.Nil(t, fe.first)
		if !fail {
			r.Handle(7, &transport.ObjectChunk{Object: id, Total: 1, Data: []byte("x")})
			require.True(t, r.store.Contains(id), "the pull finished")
			require.Nil(t, r.fetchOf(id))
			require.Zero(t, w.n, "a reader that left was told")
			continue
		}
		r.Handle(7, &transport.PullFailed{Object: id})
		require.False(t, fe.pulling)
		env.sent = nil
		r.Handle(50, &transport.ObjectLost{Object: id})
		require.False(t, r.reconstructing[id.Task], "a loss no one waits for started a rebuild")
		r.relocate(id) // its timer's turn (this env runs none)
		_, asking := r.locating[id]
		require.False(t, asking, "relocate still asks where %s is for no one", id)
		r.need(id, w) // a reader comes back: it takes the fetch over and asks again
		require.Same(t, fe, r.fetchOf(id))
		require.Equal(t, waiter(w), fe.first)
		asked := false
		for _, m := range env.sent {
			if s, ok := m.(*transport.GcsSubscribeObject); ok && s.Object == id {
				asked = true
			}
		}
		require.True(t, asked, "a reader back on a fetch left idle did not ask where %s is", id)
	}
}

// countWaiter is a waiter compared by identity (as a Get's getRef is).
type countWaiter struct{ n int }

func (w *countWaiter) ready(*objstore.Entry) { w.n++ }

// TestCancelledQueuedTaskTakesItsWaitsBack: a task queued here waiting for
// an argument, then cancelled, left its wait on the argument's fetch: the
// node went on asking where the object was (relocate) and would rebuild it
// on news of its loss, for a task that would never run. The same for the
// queued calls of an actor that dies. Now it takes its waits back, as a
// Get that ends early does; another reader's wait stays.
func TestCancelledQueuedTaskTakesItsWaitsBack(t *testing.T) {
	for _, other := range []bool{false, true} {
		r, _ := hostileRaylet(t, 1<<20)
		arg := transport.ObjectID{Task: 77}
		spec := &transport.TaskSpec{ID: 90, NumReturns: 1, Func: "f", Owner: 7,
			Args: []transport.Arg{{IsRef: true, Ref: arg}, {IsRef: true, Ref: arg}}}
		w := &countWaiter{}
		if other {
			r.need(arg, w)
		}
		r.accept(spec, "test")
		require.True(t, r.waited(arg))
		r.cancelLocal(spec.ID, false, 0)
		require.Equal(t, other, r.waited(arg), "other reader %v", other)
		if other {
			require.Equal(t, waiter(w), r.fetchOf(arg).first, "the other reader's wait stays")
		}
		r.Handle(50, &transport.ObjectLost{Object: arg})
		require.Equal(t, other, r.reconstructing[arg.Task], "a rebuild for the cancelled task alone")
	}
}
