package ray_test

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
)

// lastNode is a policy of a test's own: every task to the global
// scheduler, which gives it the last candidate. picks counts its Picks (on
// TCP the scheduler's loop calls it; an atomic, as a policy keeps no
// unguarded state).
type lastNode struct{ picks *atomic.Int64 }

func (lastNode) Name() string              { return "last-node" }
func (lastNode) Local(bool, int, int) bool { return false }
func (p lastNode) Pick(_ *scheduler.Decision, c []scheduler.Candidate, _ *rand.Rand) int {
	p.picks.Add(1)
	return len(c) - 1
}

// TestPolicyImplTCP: ray.Config.PolicyImpl places tasks on a loopback TCP
// cluster, and on a live one whose processes (built from the same
// program) all set it: the head names it to the joining node, which uses
// its own; a node or driver without it cannot join.
func TestPolicyImplTCP(t *testing.T) {
	sq := func(reg *ray.Registry) *ray.Func[int] {
		return ray.Register1(reg, "sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	}
	driver := func(f *ray.Func[int]) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			for i := range 10 {
				v, err := ray.Get(ctx, f.Remote(ctx, i))
				if err != nil {
					return err
				}
				require.Equal(t, i*i, v)
			}
			return nil
		}
	}
	t.Run("NewTCP", func(t *testing.T) {
		p := lastNode{new(atomic.Int64)}
		reg := ray.NewRegistry()
		f := sq(reg)
		c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: []ray.NodeConfig{{Name: "a", CPUs: 1}, {Name: "b", CPUs: 1}}, PolicyImpl: p}, reg)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(driver(f)))
		require.GreaterOrEqual(t, p.picks.Load(), int64(10))
	})
	t.Run("live", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		tok := []byte("policy-impl-token")
		p := lastNode{new(atomic.Int64)}
		reg := ray.NewRegistry()
		sq(reg)
		head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 1},
			Cluster: ray.Config{PolicyImpl: p}}, reg)
		require.NoError(t, err)
		defer head.Close()
		reg = ray.NewRegistry()
		sq(reg)
		_, err = ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "without", Node: ray.NodeConfig{CPUs: 1}}, reg)
		require.ErrorIs(t, err, scheduler.ErrUnknownPolicy, "a node that does not know the head's policy")
		reg = ray.NewRegistry()
		sq(reg)
		w, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w1", Node: ray.NodeConfig{CPUs: 1},
			Cluster: ray.Config{PolicyImpl: lastNode{new(atomic.Int64)}}}, reg)
		require.NoError(t, err)
		defer w.Close()
		reg = ray.NewRegistry()
		f := sq(reg)
		_, err = ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg))
		require.ErrorIs(t, err, scheduler.ErrUnknownPolicy, "a driver too")
		s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg),
			ray.WithDeployConfig(func(dc *ray.DeployConfig) { dc.Cluster.PolicyImpl = lastNode{new(atomic.Int64)} }))
		require.NoError(t, err)
		defer s.Close()
		require.NoError(t, s.Run(driver(f)))
		require.GreaterOrEqual(t, p.picks.Load(), int64(10), "the head's scheduler used the policy")
	})
}
