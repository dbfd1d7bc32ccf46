package ray_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// durableCounter is an actor whose state survives restarts when asked.
type durableCounter struct{ n int64 }

func (c *durableCounter) Checkpoint() ([]byte, error) {
	return binary.AppendVarint(nil, c.n), nil
}

func (c *durableCounter) Restore(b []byte) error {
	n, k := binary.Varint(b)
	if k <= 0 {
		return errBadCheckpoint
	}
	c.n = n
	return nil
}

var errBadCheckpoint = ray.ErrTaskFailed

// counterAcrossCrash counts to 5 on a DurableCounter actor created with
// opts on node "w", lets that node crash and come back, and returns what
// the 6th incr returns; onEvent (optional) sees the run's trace events.
func counterAcrossCrash(t *testing.T, onEvent func(*transport.Event), opts ...ray.Option) int64 {
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "DurableCounter", func(ctx context.Context) (*durableCounter, error) {
		return &durableCounter{}, nil
	})
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *durableCounter) (int64, error) {
		c.n++
		return c.n, nil
	})
	nodes := []ray.NodeConfig{
		{Name: "head", CPUs: 1},
		{Name: "w", CPUs: 1, Resources: map[string]float64{"w": 1}},
	}
	c, err := ray.NewSim(ray.Config{Nodes: nodes, Seed: 3, WireCheck: true, OnEvent: onEvent}, reg)
	require.NoError(t, err)
	defer c.Close()
	w := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(100*time.Millisecond, func() { c.Netsim().Crash(w) })
	c.Netsim().At(200*time.Millisecond, func() { c.Netsim().Restart(w) })
	var sixth int64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		h := cls.Options(append([]ray.Option{ray.Resource("w", 1), ray.MaxRestarts(1)}, opts...)...).New(ctx)
		for i := int64(1); i <= 5; i++ {
			v, err := ray.Get(ctx, incr.Remote(ctx, h))
			require.NoError(t, err)
			require.Equal(t, i, v)
		}
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // the node dies and comes back
		v, err := ray.Get(ctx, incr.Remote(ctx, h))
		require.NoError(t, err)
		sixth = v
		return nil
	}))
	return sixth
}

// TestActorCheckpointSurvivesRestart: an actor on a node that crashes is
// restarted elsewhere; with checkpoints it resumes from its saved state,
// without them from its constructor's.
func TestActorCheckpointSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every int
		want  int64
	}{{"checkpointed", 1, 6}, {"not checkpointed", 0, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, counterAcrossCrash(t, nil, ray.CheckpointEvery(tc.every)))
		})
	}
}

// TestActorReplayRebuildsState: an actor created with ReplayMethods that
// loses its node re-runs, on restart, the methods since its last checkpoint
// (all of them without checkpoints), so its state is as before the crash.
func TestActorReplayRebuildsState(t *testing.T) {
	for _, tc := range []struct {
		name     string
		every    int
		replayed int
	}{{"no checkpoints", 0, 5}, {"checkpoint every 2", 2, 1}, {"checkpoint every method", 1, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			replays := 0
			onEvent := func(ev *transport.Event) {
				if ev.Kind == transport.EvTaskFinished && ev.Detail == "replay" {
					replays++
				}
			}
			sixth := counterAcrossCrash(t, onEvent, ray.CheckpointEvery(tc.every), ray.ReplayMethods())
			require.Equal(t, int64(6), sixth, "the state the methods built survives the restart")
			require.Equal(t, tc.replayed, replays, "methods re-run on restart")
		})
	}
}
