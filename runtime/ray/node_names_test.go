package ray_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestErrorsNameTheNode: on a live cluster, the errors of a task and an
// actor lost with a node that has a name (--name) give the name beside
// the ID ("node 2 (w1) died"), and stay the same sentinels (errors.Is):
// they gave the ID alone, which an operator had to look up in raysim
// status.
func TestErrorsNameTheNode(t *testing.T) {
	tok := []byte("node-names-token")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 4)
	registry := func() (*ray.Registry, *ray.Func[int], *ray.ActorClass[jobCounter], *ray.ActorMethod[jobCounter, int]) {
		reg := ray.NewRegistry()
		long := ray.Register1(reg, "long", func(ctx context.Context, d time.Duration) (int, error) {
			started <- struct{}{}
			return 1, ray.Compute(ctx, d)
		})
		cls := ray.RegisterActor0(reg, "Counter", func(ctx context.Context) (*jobCounter, error) { return &jobCounter{}, nil })
		incr := ray.Method0(cls, "incr", func(ctx context.Context, c *jobCounter) (int, error) { c.n++; return c.n, nil })
		return reg, long, cls, incr
	}
	reg, _, _, _ := registry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1}}, reg)
	require.NoError(t, err)
	defer head.Close()
	reg, _, _, _ = registry()
	w, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w1",
		Node: ray.NodeConfig{CPUs: 1, Resources: map[string]float64{"w": 2}}}, reg)
	require.NoError(t, err)
	defer w.Close()
	reg, long, cls, incr := registry()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Run(func(ctx context.Context) error {
		h := cls.Options(ray.Resource("w", 1), ray.CPUs(0), ray.MaxRestarts(0)).New(ctx)
		_, err := ray.GetTimeout(ctx, incr.Remote(ctx, h), 30*time.Second)
		require.NoError(t, err)
		ref := long.Options(ray.Resource("w", 1), ray.MaxRetries(0)).Remote(ctx, time.Hour)
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatal("the task did not start")
		}
		w.Control(&transport.NodeControl{Op: transport.ControlKill, Node: w.Self()})

		_, err = ray.GetTimeout(ctx, ref, 60*time.Second)
		require.True(t, errors.Is(err, ray.ErrRetriesExhausted), "%v", err)
		assert.Contains(t, err.Error(), "(w1) died")
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err = ray.GetTimeout(ctx, incr.Remote(ctx, h), 30*time.Second)
			if err != nil || time.Now().After(deadline) {
				break
			}
		}
		require.True(t, errors.Is(err, ray.ErrActorDied), "%v", err)
		assert.Contains(t, err.Error(), "(w1) died")
		return nil
	}))
}
