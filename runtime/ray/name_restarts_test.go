package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestNameShardReportsRestarts: a named replaying actor whose name is
// kept by another GCS shard than its ID restarts after its node dies.
// Its callers found it by name (ray.GetActor), so their raylet hears of
// it from the name's shard alone. That shard never counted the actor's
// restarts (only the actor's shard does), and reported the restarted
// instance with Restarts 0: the callers' route took it for the actor's
// first instance, and a caller over would not have been said over to it
// (CallsDone.Over goes only to an instance known restarted). The route
// now knows the restart; the calls ran once and the callers over leave
// no restored result open. (Fails before: the route said 0 restarts.
// The open results were not the symptom here: the restored instance asks
// the calls' owners which are done, OpenCalls, and these were.)
func TestNameShardReportsRestarts(t *testing.T) {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "NamedLog", func(ctx context.Context) (*overLog, error) { return &overLog{}, nil })
	inc := ray.Method1(cls, "inc", func(ctx context.Context, a *overLog, d int) (int, error) { a.n += d; return a.n, nil })
	var name string
	call := ray.Register1(reg, "incByName", func(ctx context.Context, x int) (int, error) {
		h, err := ray.GetActor(ctx, cls, name)
		if err != nil {
			return 0, err
		}
		v, err := ray.Get(ctx, inc.Remote(ctx, h, 1))
		if err != nil {
			return 0, err
		}
		return v, ray.Compute(ctx, 3*time.Second) // still running at the restart
	})
	nodes := []ray.NodeConfig{{Name: "head", CPUs: 2}, {Name: "callers", CPUs: 32, Resources: map[string]float64{"caller": 32}},
		{Name: "n1", CPUs: 2, Resources: map[string]float64{"spot": 1}}, {Name: "n2", CPUs: 2, Resources: map[string]float64{"spot": 1}}}
	const callersNode = 1
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 1, GCSShards: 2, WireCheck: true, MaxVirtual: time.Hour}, reg)
	require.NoError(t, err)
	defer c.Close()
	l := c.Layout()
	const tasks = 20
	require.NoError(t, c.Run(func(ctx context.Context) error {
		var h ray.ActorHandle[overLog]
		for i := 0; ; i++ {
			require.Less(t, i, 32, "no name split from its actor's shard")
			name = fmt.Sprintf("log-%d", i)
			h = cls.Options(ray.ActorName(name), ray.ReplayMethods(), ray.MaxRestarts(2), ray.MaxRetries(3), ray.Resource("spot", 1)).New(ctx)
			require.NoError(t, h.Err())
			if l.ShardOfName(transport.QualifiedName(ray.Namespace(ctx), name)) != l.ShardOfTask(h.ID()) {
				break
			}
			require.NoError(t, ray.Kill(ctx, h))
		}
		if _, err := ray.Get(ctx, inc.Remote(ctx, h, 0)); err != nil {
			return err
		}
		refs := make([]ray.Ref[int], 0, tasks)
		for i := 0; i < tasks; i++ {
			refs = append(refs, call.Options(ray.Resource("caller", 1)).Remote(ctx, i))
		}
		// Every call made (the actor's count), the callers still working.
		for {
			v, err := ray.Get(ctx, inc.Remote(ctx, h, 0))
			if err != nil {
				return err
			}
			if v == tasks {
				break
			}
			if err := ray.Compute(ctx, 100*time.Millisecond); err != nil {
				return err
			}
		}
		home := l.ShardOfTask(h.ID())
		host := row(t, c, home, h.ID()).Node
		c.Netsim().Crash(netsim.NodeID(host))
		for _, r := range refs {
			if _, err := ray.Get(ctx, r); err != nil {
				return err
			}
		}
		v, err := ray.Get(ctx, inc.Remote(ctx, h, 0))
		if err != nil {
			return err
		}
		if v != tasks {
			return fmt.Errorf("the calls did not each run once: %d, want %d", v, tasks)
		}
		if err := ray.Compute(ctx, time.Second); err != nil { // the callers' words in
			return err
		}
		restarted := row(t, c, home, h.ID())
		require.Equal(t, transport.ActorAlive, restarted.State)
		require.NotEqual(t, host, restarted.Node, "precondition: restarted elsewhere")
		var seen bool
		for _, rt := range c.Raylet(callersNode).Routes() {
			if rt.Actor == transport.ActorID(h.ID()) {
				seen = true
				require.Equal(t, transport.ActorAlive, rt.State)
				require.Equal(t, restarted.Node, rt.Node)
				assert.EqualValues(t, 1, rt.Restarts, "the callers' route, fed by the name's shard, does not know the actor restarted")
			}
		}
		require.True(t, seen, "precondition: the callers' node routes to the actor")
		e, ok := c.Raylet(int(restarted.Node) - 1).ActorCallerEntries(transport.ActorID(h.ID()))
		require.True(t, ok, "the restarted instance's host has it")
		if e.Past == 0 {
			return fmt.Errorf("precondition: the instance restored nothing (not restarted?): %+v", e)
		}
		if e.PastOpen > 1 {
			return fmt.Errorf("the restored results of %d callers over are kept open, for retries that will not come: %+v", e.PastOpen, e)
		}
		return nil
	}))
}
