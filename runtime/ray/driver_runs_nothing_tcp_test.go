package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// TestConnectedDriverRunsNoTasks: a driver that Connects is a raylet with
// no resources, on which nothing is to be placed. A task asking for none
// (CPUs(0)) fit it all the same, and the bottom-up local scheduler kept it
// there: the driver's process ran the cluster's zero-resource tasks (and
// would host its zero-resource actors). They now leave it for the cluster.
func TestConnectedDriverRunsNoTasks(t *testing.T) {
	tok := []byte("driver-runs-nothing")
	registry := func() (*ray.Registry, *ray.Func[transport.NodeID]) {
		reg := ray.NewRegistry()
		return reg, ray.Register0(reg, "where", func(ctx context.Context) (transport.NodeID, error) { return ray.NodeOf(ctx), nil })
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hreg, _ := registry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}}, hreg)
	require.NoError(t, err)
	defer head.Close()
	nreg, _ := registry()
	n, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, Name: "w0", Node: ray.NodeConfig{CPUs: 2}}, nreg)
	require.NoError(t, err)
	defer n.Close()
	reg, where := registry()
	addr := head.Addr()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Run(func(ctx context.Context) error {
		for _, o := range [][]ray.Option{{ray.CPUs(0)}, nil} {
			refs := make([]ray.Ref[transport.NodeID], 20)
			for i := range refs {
				refs[i] = where.Options(o...).Remote(ctx)
			}
			nodes, err := ray.GetAll(ctx, refs, 10*time.Second)
			require.NoError(t, err)
			for _, n := range nodes {
				assert.NotEqual(t, s.Node(), n, "a task ran on the driver (options %v)", len(o))
			}
		}
		return nil
	}))
}
