package ray_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// QA28b finding 2: MaxRetries on an actor's creation was accepted and
// ignored (a call used its method handle's budget only, 0 by default). It
// is Ray's max_task_retries now: the default budget of the actor's calls.
var taskRetriesCases = []semanticCase{
	{"MaxRetries on an actor's creation is its calls' default budget (max_task_retries)", func(t *testing.T, ctx context.Context, s *suite) {
		if s.crash == nil {
			return
		}
		h := s.counter.Options(ray.MaxRestarts(1), ray.MaxRetries(2), ray.NodeAffinity(ray.RayletID(1), true)).New(ctx, 7)
		at, err := ray.GetTimeout(ctx, s.here.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		require.Equal(t, uint64(ray.RayletID(1)), at)
		// A handle that travels keeps the budget (as Ray's handle does).
		b, err := json.Marshal(h)
		require.NoError(t, err)
		var copied ray.ActorHandle[counter]
		require.NoError(t, json.Unmarshal(b, &copied))
		// Two calls in flight when the actor's node dies: the first
		// takes the actor's budget, the second's method sets its own, 0.
		long := s.nap.Remote(ctx, copied, 3000)
		once := s.nap.Options(ray.MaxRetries(0)).Remote(ctx, h, 1)
		_, _, err = ray.Wait(ctx, []ray.Ref[int]{long}, 1, 300*time.Millisecond) // let them reach the actor
		require.NoError(t, err)
		s.crash(1)
		v, err := ray.GetTimeout(ctx, long, 60*time.Second)
		require.NoError(t, err, "the call is retried on the restarted actor")
		assert.Equal(t, 7, v, "on a fresh instance")
		_, err = ray.GetTimeout(ctx, once, 60*time.Second)
		require.ErrorIs(t, err, ray.ErrActorDied, "a call whose method sets MaxRetries(0)")
		at, err = ray.GetTimeout(ctx, s.here.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		assert.NotEqual(t, uint64(ray.RayletID(1)), at, "restarted elsewhere")
	}},
}

func init() { semanticCases = append(semanticCases, taskRetriesCases...) }

// TestActorHandleJSONKeepsTaskRetries: a handle's max_task_retries
// travels with it; a handle without one stays as it was on the wire.
func TestActorHandleJSONKeepsTaskRetries(t *testing.T) {
	plain := ray.ActorHandleOf[counter](5)
	b, err := json.Marshal(plain)
	require.NoError(t, err)
	assert.JSONEq(t, `{"actor":5,"by_id":true}`, string(b), "rebuilt from its ID: it learns the actor's defaults at its first call")
	var bad ray.ActorHandle[counter]
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"actor":5,"max_task_retries":-2}`), &bad), ray.ErrInvalidOption)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"actor":5,"name":"ns\u0000"}`), &bad), ray.ErrInvalidOption, "a name the wire refuses")
}
