package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

type seqBox struct{}

// failedCallHoldsUpNext: a caller's actor call fails for good (cancelled,
// or out of retries) when its actor's node dies; the caller's next call,
// which names the failed one's number as done (SeqBase), must still run on
// the restarted actor. The owner dropped the failed call without marking
// its number done, and the restarted actor waited for it for good (found
// in review; the cancelled case since 78c5f9c, the other before).
func failedCallHoldsUpNext(t *testing.T, cancel bool) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "SeqBox", func(ctx context.Context) (*seqBox, error) { return &seqBox{}, nil })
	slow := ray.Method0(cls, "slow", func(ctx context.Context, _ *seqBox) (int, error) {
		return 1, ray.Compute(ctx, 5*time.Second)
	})
	where := ray.Method0(cls, "where", func(ctx context.Context, _ *seqBox) (uint64, error) {
		return uint64(ray.NodeOf(ctx)), nil
	})
	c, err := ray.NewSim(ray.Config{Nodes: withW(2), Seed: 1, WireCheck: true}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		require.NoError(t, ray.Compute(ctx, 300*time.Millisecond))
		h := cls.Options(ray.Resource("w", 1), ray.MaxRestarts(1)).New(ctx)
		n, err := ray.GetTimeout(ctx, where.Remote(ctx, h), 10*time.Second)
		require.NoError(t, err)
		retries := 0
		if cancel {
			retries = 3
		}
		s := slow.Options(ray.MaxRetries(retries)).Remote(ctx, h)  // seq 0
		next := where.Options(ray.MaxRetries(3)).Remote(ctx, h)    // seq 1
		require.NoError(t, ray.Compute(ctx, 500*time.Millisecond)) // slow runs
		if cancel {
			require.NoError(t, ray.Cancel(ctx, s))
		}
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond))
		c.Netsim().Crash(netsim.NodeID(transport.NodeID(n)))
		_, err = ray.GetTimeout(ctx, s, 20*time.Second)
		require.Error(t, err)
		_, err = ray.GetTimeout(ctx, next, 20*time.Second)
		require.NoError(t, err, "the caller's next call never ran on the restarted actor")
		return nil
	}))
}

func TestCancelledCallDoesNotHoldUpCallersNext(t *testing.T) { failedCallHoldsUpNext(t, true) }
func TestExhaustedCallDoesNotHoldUpCallersNext(t *testing.T) { failedCallHoldsUpNext(t, false) }
