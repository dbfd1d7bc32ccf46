package ray_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// bigCkpt is a checkpointing actor whose state is one small counter.
type bigCkpt struct{ n int64 }

func (c *bigCkpt) Checkpoint() ([]byte, error) { return []byte{byte(c.n)}, nil }
func (c *bigCkpt) Restore(b []byte) error {
	if len(b) != 1 {
		return errBadCheckpoint
	}
	c.n = int64(b[0])
	return nil
}

// TestCheckpointBigResultTCP: a checkpointing actor (CheckpointEvery(1))
// whose method returns more than a TCP frame (8 MiB) answers on TCP. The
// checkpoint saves the results not yet published; a 12 MiB one made it
// larger than a frame, TCP refused the actor table's write for good and
// the result was never published (ErrTimeout). Past a budget, a result is
// saved as a "lost with its node" error instead (runtime/node
// TestWrapCheckpointBoundsSavedResults); the caller gets the value itself.
func TestCheckpointBigResultTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 13 MiB over loopback TCP")
	}
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "BigCkpt", func(ctx context.Context) (*bigCkpt, error) { return &bigCkpt{}, nil })
	get := ray.Method1(cls, "get", func(ctx context.Context, c *bigCkpt, n int) ([]byte, error) {
		c.n++
		return make([]byte, n), nil
	})
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "a", CPUs: 1}}}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.CheckpointEvery(1)).New(ctx)
		for _, size := range []int{1 << 20, 12 << 20, 10} {
			b, err := ray.GetTimeout(ctx, get.Remote(ctx, h, size), 20*time.Second)
			require.NoError(t, err, "a result of %d bytes", size)
			require.Len(t, b, size)
		}
		return nil
	}))
}

// hugeCkpt is a checkpointing actor whose Checkpoint bytes are more than
// a TCP frame.
type hugeCkpt struct{ n int64 }

func (c *hugeCkpt) Checkpoint() ([]byte, error) { return make([]byte, 9<<20), nil }
func (c *hugeCkpt) Restore([]byte) error        { return nil }

// TestCheckpointTooLargeTCP: Checkpoint bytes that cannot fit a TCP frame
// are not saved (a warning; the previous checkpoint stands), and the
// method's result is published. Before, the actor table's write was
// refused by TCP and re-sent for good: the call never answered.
func TestCheckpointTooLargeTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("makes 9 MiB checkpoints")
	}
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "HugeCkpt", func(ctx context.Context) (*hugeCkpt, error) { return &hugeCkpt{}, nil })
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *hugeCkpt) (int64, error) { c.n++; return c.n, nil })
	var warned atomic.Int64
	c, err := ray.NewTCP(context.Background(), ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head"}, {Name: "a", CPUs: 1}},
		OnEvent: func(ev *transport.Event) {
			if ev.Kind == transport.EvWarning && strings.Contains(ev.Detail, "a checkpoint must fit a TCP frame") {
				warned.Add(1)
			}
		}}, reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(ray.CheckpointEvery(1)).New(ctx)
		for i := int64(1); i <= 2; i++ {
			v, err := ray.GetTimeout(ctx, incr.Remote(ctx, h), 20*time.Second)
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		return nil
	}))
	require.Equal(t, int64(1), warned.Load(), "warned once per instance")
}
