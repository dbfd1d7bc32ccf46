package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestRemovedGroupsStayBounded: a stream of jobs that each create a
// placement group and remove it (or leave it to the job's end) keeps the
// scheduler's and the creating raylet's group records bounded. (QA31
// finding 5c: one record each per group, for good.)
func TestRemovedGroupsStayBounded(t *testing.T) {
	for _, remove := range []bool{true, false} {
		c, err := ray.NewSim(ray.Config{
			Nodes:      []ray.NodeConfig{{Name: "head", CPUs: 4}, {Name: "w1", CPUs: 4}},
			Seed:       1,
			MaxVirtual: 100 * time.Hour,
		}, ray.NewRegistry())
		require.NoError(t, err)
		const jobs = 1500
		for k := 0; k < jobs; k++ {
			require.NoError(t, c.Run(func(ctx context.Context) error {
				pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}}, ray.Pack)
				if err != nil {
					return err
				}
				if err := pg.Wait(ctx, time.Second); err != nil {
					return err
				}
				if remove {
					return ray.RemovePlacementGroup(ctx, pg)
				}
				return nil
			}), "job %d", k)
		}
		require.NoError(t, c.Run(func(ctx context.Context) error { return nil })) // the last job's end is applied
		require.Less(t, len(c.Global().Groups()), jobs, "remove %v: the scheduler keeps every group", remove)
		require.LessOrEqual(t, len(c.Global().Groups()), 1024+1)
		for i := 0; i < 2; i++ {
			require.LessOrEqual(t, c.Raylet(i).GroupRecords(), 1024+1, "remove %v: raylet %d keeps every group", remove, i)
		}
		c.Close()
	}
}
