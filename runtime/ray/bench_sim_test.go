package ray_test

import (
	"context"
	"fmt"
	"testing"

	"raysim/runtime/ray"
)

// BenchmarkSimLocalTasks measures the simulator's cost per task on the
// paper's throughput pattern: one driver per node submitting empty tasks that
// run locally (bottom-up, no spill), then getting their results. One
// benchmark op is one task; allocations per op are per task.
//
//	go test -run '^$' -bench SimLocalTasks -benchmem ./runtime/ray/
func BenchmarkSimLocalTasks(b *testing.B) {
	const nodes = 10
	reg := ray.NewRegistry()
	empty := ray.Register0(reg, "empty", func(ctx context.Context) (int, error) { return 0, nil })
	cfg := ray.Config{Seed: 1, SpillThreshold: 1 << 30}
	for i := 0; i < nodes; i++ {
		cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 16})
	}
	c, err := ray.NewSim(cfg, reg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	per := b.N/nodes + 1
	for i := 0; i < nodes; i++ {
		if err := c.Go(i, func(ctx context.Context) error {
			refs := make([]ray.Ref[int], per)
			for j := range refs {
				refs[j] = empty.Remote(ctx)
			}
			_, err := ray.GetAll(ctx, refs, -1)
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if err := c.Run(nil); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Netsim().Stats().Events)/float64(b.N), "events/task")
}
