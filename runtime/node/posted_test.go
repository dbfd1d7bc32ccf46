package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// postEnv is a hostileEnv whose Post queues f for the test to run, as a
// TCP host's loop runs it later.
type postEnv struct {
	hostileEnv
	posts []func()
}

func (e *postEnv) Post(f func()) { e.posts = append(e.posts, f) }

// TestBurstOfSubmitsPostsOnce: on an Env that does not post inline (TCP) a
// caller's burst of submissions reaches the loop as one item, which takes
// them all in submission order; one after it was taken posts again. (Each
// submission used to post its own closure: an allocation, a channel send
// and a loop item per task.)
func TestBurstOfSubmitsPostsOnce(t *testing.T) {
	r, _ := hostileRaylet(t, 0)
	env := &postEnv{hostileEnv: *r.env.(*hostileEnv)}
	r.env = env
	c := r.NewDriver(1 << 20)
	var ids []transport.TaskID
	for range 5 {
		ids = append(ids, c.Submit(&transport.TaskSpec{Func: "f", Resources: transport.MakeResources(1, 0, nil)}))
	}
	require.Len(t, env.posts, 1, "items posted for a burst of 5")
	require.Empty(t, r.submitQ, "nothing reaches the raylet before the loop runs the item")
	env.posts[0]()
	require.Len(t, r.submitQ, 5)
	for i, spec := range r.submitQ {
		require.Equal(t, ids[i], spec.ID, "submission order")
	}
	c.Submit(&transport.TaskSpec{Func: "f"})
	require.Len(t, env.posts, 2, "a submission after the burst was taken posts again")
	env.posts[1]()
	require.Len(t, r.submitQ, 6)
}
