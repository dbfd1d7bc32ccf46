package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// bigObjects registers a producer of 8 MiB of real bytes (a []byte, not a
// Blob's virtual size) and a consumer reporting what it read; run submits
// 8 producer/consumer pairs at once and checks every consumer read its
// producer's bytes.
func bigObjects(s *suite) (run func(t *testing.T, ctx context.Context)) {
	made := ray.Register1(s.reg, "bigMade", func(ctx context.Context, i int) ([]byte, error) {
		b := make([]byte, 8<<20)
		b[0] = byte(i)
		return b, nil
	})
	used := ray.Register1(s.reg, "bigUsed", func(ctx context.Context, b []byte) ([2]int, error) {
		return [2]int{int(b[0]), len(b)}, nil
	})
	return func(t *testing.T, ctx context.Context) {
		var refs []ray.Ref[[2]int]
		for i := range 8 {
			refs = append(refs, used.Remote(ctx, made.Remote(ctx, i)))
		}
		got, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		for i, g := range got {
			require.Equal(t, [2]int{i, 8 << 20}, g)
		}
	}
}

// TestTCPLargeRealObjectCrossesNodes: objects of 8 MiB of real bytes read
// on other nodes over loopback TCP. A pull sent every real byte in the
// first chunk, a message larger than a TCP frame, dropped on every attempt:
// the reader waited for good. Chunks now carry their share of the bytes.
func TestTCPLargeRealObjectCrossesNodes(t *testing.T) {
	s := newSuite()
	run := bigObjects(s)
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1,
		Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "a", CPUs: 2}, {Name: "b", CPUs: 2}}}, s.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		run(t, ctx)
		return nil
	}))
}
