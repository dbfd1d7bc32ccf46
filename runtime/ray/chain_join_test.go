package ray_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// The tests below restart the tail of a 2-replica GCS chain within the
// master's timeout: the master re-appends it as a joiner, and it becomes
// the tail by installing its predecessor's snapshot. The updates applied
// meanwhile are in that snapshot, so the joiner never applies them; their
// side effects (publications, events, acknowledgements) were captured at
// the predecessor, which trimmed them when the joiner acknowledged the
// snapshot, and nobody sent them (QA30 finding 1).

// TestChainJoinDeclaresRestartedNodeDead: a worker crashes and restarts
// while the tail rejoins. Its registration, applied at the head during the
// join, declares its old incarnation dead: the raylets must hear of it
// (node.dead), else the tasks placed there are never retried.
func TestChainJoinDeclaresRestartedNodeDead(t *testing.T) {
	for _, restart := range []time.Duration{105 * time.Millisecond, 112 * time.Millisecond} {
		t.Run(restart.String(), func(t *testing.T) {
			reg := ray.NewRegistry()
			sq := ray.Register1(reg, "sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
			var c *ray.Sim
			var deaths, alives int
			cfg := ray.Config{Seed: 1, GCSShards: 1, GCSReplicas: 2, MaxVirtual: 20 * time.Second,
				Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w1", CPUs: 4}},
				OnEvent: func(e *transport.Event) {
					switch e.Kind {
					case transport.EvNodeDead:
						deaths++
					case transport.EvNodeAlive:
						alives++
					}
				}}
			c, err := ray.NewSim(cfg, reg)
			require.NoError(t, err)
			defer c.Close()
			s := c.Netsim()
			tail, w1 := netsim.NodeID(ray.ReplicaID(0, 1)), netsim.NodeID(ray.RayletID(1))
			s.At(100*time.Millisecond, func() { s.Crash(tail) })
			s.At(102*time.Millisecond, func() { s.Crash(w1) })
			s.At(110*time.Millisecond, func() { s.Restart(tail) })
			s.At(restart, func() { s.Restart(w1) })
			err = c.Run(func(ctx context.Context) error {
				var refs []ray.Ref[int]
				for i := range 40 {
					refs = append(refs, sq.Options(ray.Duration(20*time.Millisecond), ray.MaxRetries(-1)).Remote(ctx, i))
				}
				vs, err := ray.GetAll(ctx, refs, -1)
				for i, v := range vs {
					if v != i*i {
						return fmt.Errorf("sq(%d) = %d", i, v)
					}
				}
				return err
			})
			require.NoError(t, err, "ended at %v", s.Now())
			require.Equal(t, 1, deaths, "the old incarnation of w1 declared dead once")
			require.Equal(t, 3, alives, "two registrations at start, and w1's new incarnation")
		})
	}
}

// TestChainJoinActorCallsAfterRestart: an actor on a worker (not the
// driver's node) is called in a row while the tail rejoins, and its worker
// is killed afterwards. A call that finished during the join had its
// TaskDone to the caller lost with the captured side effects: the caller
// never counted it done, so every later call named it not done (SeqBase),
// and the restarted instance waited for it for good. Without the kill, the
// same lost location write stalled the caller until it re-subscribed (1s).
func TestChainJoinActorCallsAfterRestart(t *testing.T) {
	for _, kill := range []time.Duration{0, 105 * time.Millisecond, 150 * time.Millisecond, time.Second} {
		t.Run(fmt.Sprint("kill ", kill), func(t *testing.T) {
			type counter struct{ N int }
			reg := ray.NewRegistry()
			cls := ray.RegisterActor0(reg, "ctr", func(ctx context.Context) (*counter, error) { return &counter{}, nil })
			incr := ray.Method0(cls, "incr", func(ctx context.Context, c *counter) (int, error) {
				if err := ray.Compute(ctx, time.Millisecond); err != nil {
					return 0, err
				}
				c.N++
				return c.N, nil
			})
			c, err := ray.NewSim(ray.Config{Seed: 1, GCSShards: 1, GCSReplicas: 2, MaxVirtual: 30 * time.Second,
				Nodes: []ray.NodeConfig{{Name: "head", CPUs: 0}, {Name: "w1", CPUs: 4}}}, reg)
			require.NoError(t, err)
			defer c.Close()
			s := c.Netsim()
			tail := netsim.NodeID(ray.ReplicaID(0, 1))
			s.At(100*time.Millisecond, func() { s.Crash(tail) })
			s.At(110*time.Millisecond, func() { s.Restart(tail) })
			var id transport.ActorID
			if kill > 0 {
				s.At(kill, func() { c.Raylet(1).Kill(id, "test") })
			}
			const calls = 200
			err = c.Run(func(ctx context.Context) error {
				h := cls.Options(ray.MaxRestarts(-1), ray.MaxRetries(-1)).New(ctx)
				id = h.ID()
				for i := range calls {
					if _, err := ray.Get(ctx, incr.Remote(ctx, h)); err != nil {
						return fmt.Errorf("call %d: %w", i, err)
					}
				}
				return nil
			})
			require.NoError(t, err, "ended at %v", s.Now())
			// About 1.6ms a call: no call waits for a re-subscription.
			require.Less(t, s.Now(), time.Second, "virtual end time")
		})
	}
}
