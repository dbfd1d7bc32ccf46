package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// QA28b finding 12: errors that say which task failed and what is late.
var errorTextCases = []semanticCase{
	{"error texts: a task's error names its function and node", func(t *testing.T, ctx context.Context, s *suite) {
		_, err := ray.GetTimeout(ctx, s.fail.Options(ray.NodeAffinity(ray.RayletID(1), false)).Remote(ctx, 4), 30*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), fmt.Sprintf("fail on node %d: bad input 4", ray.RayletID(1)))
		_, err = ray.GetTimeout(ctx, s.boom.Remote(ctx), 30*time.Second)
		assert.Contains(t, err.Error(), "boom on node ")
		assert.Contains(t, err.Error(), ": panic: kaboom")
		// Name names it; a method's call is named by class and method.
		_, err = ray.GetTimeout(ctx, s.fail.Options(ray.Name("step-7")).Remote(ctx, 1), 30*time.Second)
		assert.Contains(t, err.Error(), "step-7 on node ")
		h := s.counter.New(ctx, 0)
		_, err = ray.GetTimeout(ctx, s.causes.failing.Remote(ctx, h), 30*time.Second)
		require.ErrorIs(t, err, ray.ErrTaskFailed)
		assert.Contains(t, err.Error(), "Counter.failing on node ")
	}},
	{"error texts: a pending placement group's Wait says it is not placed", func(t *testing.T, ctx context.Context, s *suite) {
		pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 64}}, ray.Pack, ray.GroupName("huge"))
		require.NoError(t, err)
		err = pg.Wait(ctx, 200*time.Millisecond)
		require.ErrorIs(t, err, ray.ErrTimeout)
		assert.Contains(t, err.Error(), `placement group `)
		assert.Contains(t, err.Error(), `("huge") not placed after 200ms`)
		assert.NotContains(t, err.Error(), "object")
		require.NoError(t, ray.RemovePlacementGroup(ctx, pg))
	}},
}

func init() { semanticCases = append(semanticCases, errorTextCases...) }
