package runner_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// TestProgramTrace: a Go program's own simulated run, recorded as
// docs/traces.md ("Tracing your own program") says, with a header from
// ProgramHeader: the analyzer sees the nodes' CPUs and utilization, and the
// trace's digest is the Recorder's (not the simulator's Netsim().Digest).
func TestProgramTrace(t *testing.T) {
	cfg := ray.Config{Seed: 7, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "worker", CPUs: 4}}}
	h, err := runner.ProgramHeader("my-program", cfg)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "my.trace")
	w, err := traces.Create(path, h, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)

	var c *ray.Sim
	cfg.OnNetEvent = rec.Net
	// OnEvent carries no time: the closure reads the simulator's clock.
	cfg.OnEvent = func(ev *transport.Event) { rec.Runtime(c.Netsim().Now(), ev) }
	reg := ray.NewRegistry()
	work := ray.Register1(reg, "work", func(ctx context.Context, x int) (int, error) { return x, nil })
	c, err = ray.NewSim(cfg, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		var refs []ray.Ref[int]
		for i := range 30 {
			refs = append(refs, work.Options(ray.Duration(5*time.Millisecond)).Remote(ctx, i))
		}
		for _, r := range refs {
			if _, err := ray.Get(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, rec.Close())

	rep, err := analysis.AnalyzeFile(path)
	require.NoError(t, err)
	require.Empty(t, rep.ScenarioErr)
	require.Equal(t, "my-program", rep.Scenario)
	require.Equal(t, "bottom-up", rep.Policy)
	require.Len(t, rep.Nodes, 2)
	require.Equal(t, 2.0, rep.Nodes[0].CPUs)
	require.Equal(t, 4.0, rep.Nodes[1].CPUs)
	require.Positive(t, rep.Nodes[0].Utilization+rep.Nodes[1].Utilization)

	require.Equal(t, rec.Digest().String(), rep.Digest, "the trace's digest is the Recorder's")
	require.NotEqual(t, rec.Digest().String(), fmt.Sprintf("%x", c.Netsim().Digest()), "the simulator's is another")
}
