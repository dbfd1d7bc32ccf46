package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// A call running on an actor whose node crashes is in the actor's durable
// state once its method-log write (ReplayMethods) or checkpoint
// (CheckpointEvery(1)) reached the actor table, though its result, held
// until the table answered, died with the node. The restarted actor
// replays it (or restores it), and its caller retries it: the retry must
// be answered with that run's result, not run again. Each caller's next
// call number is known from the log and saved with each checkpoint, so the
// restarted actor recognises the retry as a duplicate. Found by QA30 (a
// counter read 21 after 20 increments at 1,269 of 1,800 crash instants).

// onceCounter counts its incr calls; it is checkpointable.
type onceCounter struct{ n int64 }

func (c *onceCounter) Checkpoint() ([]byte, error) { return []byte(fmt.Sprint(c.n)), nil }
func (c *onceCounter) Restore(b []byte) error {
	_, err := fmt.Sscan(string(b), &c.n)
	return err
}

// runCrashedCounter makes 20 calls to incr of a counter actor on node 1 of
// a two-node Sim, one after the other, while node 1 crashes at at and
// restarts 1ms later. It returns the last call's value: 20 if each call
// was applied once.
func runCrashedCounter(t *testing.T, at time.Duration, opts []ray.Option) int64 {
	t.Helper()
	reg := ray.NewRegistry()
	cls := ray.RegisterActor0(reg, "OnceCounter", func(ctx context.Context) (*onceCounter, error) { return &onceCounter{}, nil })
	incr := ray.Method0(cls, "incr", func(ctx context.Context, c *onceCounter) (int64, error) { c.n++; return c.n, nil })
	c, err := ray.NewSim(ray.Config{Seed: 1, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w", CPUs: 1}}}, reg)
	require.NoError(t, err)
	defer c.Close()
	w := netsim.NodeID(ray.RayletID(1))
	c.Netsim().At(at, func() { c.Netsim().Crash(w) })
	c.Netsim().At(at+time.Millisecond, func() { c.Netsim().Restart(w) })
	var last int64
	require.NoError(t, c.Run(func(ctx context.Context) error {
		opts := append([]ray.Option{ray.MaxRestarts(-1), ray.MaxRetries(-1), ray.NodeAffinity(ray.RayletID(1), true)}, opts...)
		h := cls.Options(opts...).New(ctx)
		for i := 0; i < 20; i++ {
			v, err := ray.Get(ctx, incr.Remote(ctx, h))
			if err != nil {
				return fmt.Errorf("call %d: %w", i, err)
			}
			last = v
		}
		return nil
	}), "crash at %v", at)
	return last
}

// TestNodeCrashCallAppliedOnce sweeps the crash instant over the 20 calls
// (every 25µs of 1ms..10ms): the counter must read exactly 20 every time.
func TestNodeCrashCallAppliedOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ray.Option
	}{
		{"replay", []ray.Option{ray.ReplayMethods()}},
		{"checkpoint every call", []ray.Option{ray.CheckpointEvery(1)}},
		{"checkpoint every 3 calls, replay", []ray.Option{ray.CheckpointEvery(3), ray.ReplayMethods()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := map[int64]int{}
			var first time.Duration
			for at := time.Millisecond; at < 10*time.Millisecond; at += 25 * time.Microsecond {
				if n := runCrashedCounter(t, at, tc.opts); n != 20 {
					if len(bad) == 0 {
						first = at
					}
					bad[n]++
				}
			}
			require.Empty(t, bad, "counter readings other than 20 (first crash instant %v)", first)
		})
	}
}
