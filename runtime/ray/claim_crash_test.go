package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

type claimTally struct{ n int }

// TestGetIfExistsClaimDiesWithItsCreator: a creator that crashes after its
// GetIfExists claim of a name left and before it submitted the creation
// takes the claim with it, detached or not: a later GetIfExists creates
// the actor. Before (review29 finding 6), a detached claim named no owner
// and held the name for good by an actor nobody created: the later
// creator got its handle and its call waited for good. The crash lands
// before the claim (15ms), between the claim and the submission (25, 30,
// 35ms) and after it (45ms): links take 10ms.
func TestGetIfExistsClaimDiesWithItsCreator(t *testing.T) {
	for _, crashAt := range []time.Duration{15, 25, 30, 35, 45} {
		for _, detached := range []bool{true, false} {
			t.Run(fmt.Sprintf("%dms/detached=%v", crashAt, detached), func(t *testing.T) {
				reg := ray.NewRegistry()
				cls := ray.RegisterActor1(reg, "Counter", func(ctx context.Context, start int) (*claimTally, error) { return &claimTally{n: start}, nil })
				add := ray.Method1(cls, "add", func(ctx context.Context, c *claimTally, d int) (int, error) { c.n += d; return c.n, nil })
				c, err := ray.NewSim(ray.Config{Seed: 1, Link: netsim.Link{Latency: netsim.Constant(10 * time.Millisecond)},
					Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "w", CPUs: 2}}}, reg)
				require.NoError(t, err)
				defer c.Close()
				opts := []ray.Option{ray.ActorName("x"), ray.GetIfExists()}
				if detached {
					opts = append(opts, ray.Detached())
				}
				require.NoError(t, c.Go(1, func(ctx context.Context) error {
					cls.Options(opts...).New(ctx, 1)
					return nil
				}))
				c.Netsim().At(crashAt*time.Millisecond, func() { c.Netsim().Crash(netsim.NodeID(ray.RayletID(1))) })
				var v int
				var got error
				require.NoError(t, c.Go(0, func(ctx context.Context) error {
					if err := ray.Compute(ctx, 2*time.Second); err != nil {
						return err
					}
					h := cls.Options(opts...).New(ctx, 100)
					v, got = ray.GetTimeout(ctx, add.Remote(ctx, h, 1), 30*time.Second)
					return nil
				}))
				c.RunUntil(60 * time.Second)
				require.NoError(t, got, "the name held by an actor nobody creates")
				require.Contains(t, []int{2, 101}, v, "the first creator's actor (it submitted before its crash, detached) or a new one")
			})
		}
	}
}
