package gcs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/gcs"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/runtime/transport/sim"
)

// joinNode is a test raylet: it registers with the node table and, later,
// leaves the cluster (NodeLeaving: a death of its incarnation, final).
type joinNode struct{ c *gcs.Client }

func (n *joinNode) Handle(from transport.NodeID, m transport.Message) { n.c.Handle(from, m) }

// heard records, in order, the news of a node's registrations and deaths
// a handler is given, and who sent them.
type heard struct {
	h     transport.Handler
	log   []string
	times []time.Duration
	now   func() time.Duration
}

func (r *heard) Handle(from transport.NodeID, m transport.Message) {
	switch m := m.(type) {
	case *transport.RegisterNode:
		r.log = append(r.log, fmt.Sprintf("registered %d/%d from %d", m.Node, m.Incarnation, from))
	case *transport.NodeDead:
		r.log = append(r.log, fmt.Sprintf("dead %d/%d from %d", m.Node, m.Incarnation, from))
	}
	for len(r.times) < len(r.log) {
		r.times = append(r.times, r.now())
	}
	r.h.Handle(from, m)
}

// TestChainJoinPublicationsReachTheSchedulerInAnyOrder: a chain's tail
// that rejoins with a snapshot is the tail at once and publishes from its
// state (takeOver) and then the updates forwarded after its snapshot;
// its predecessor releases the captured side effects of the updates the
// snapshot held when the joiner acknowledges it. Two senders, so a
// receiver can see news of a node's death (the joiner's) before older
// news of its registration (the predecessor's): both when the snapshot
// holds the death (takeOver republishes it first), and when the death
// comes after the snapshot and the predecessor's link to the receiver is
// slower than the way through the joiner. The global scheduler took the
// late registration of an incarnation it had been told dead (or had not
// heard of yet) for a live node: a node that had left the cluster stayed
// alive in its view for good, and it would place tasks there. An
// incarnation's death is final: the scheduler now refuses a registration
// of an incarnation it heard dead.
func TestChainJoinPublicationsReachTheSchedulerInAnyOrder(t *testing.T) {
	for _, leaveAt := range []time.Duration{102 * time.Millisecond, 111 * time.Millisecond} {
		t.Run(fmt.Sprint("leaves at ", leaveAt), func(t *testing.T) {
			const (
				node, sched, master transport.NodeID = 1, 99, 100
				head, tail          transport.NodeID = 101, 102
			)
			l := &gcs.Layout{Master: master, Scheduler: sched, Raylets: []transport.NodeID{node},
				Shards: []transport.NodeID{head}, Chains: [][]transport.NodeID{{head, tail}}}
			var net *sim.Net
			ns := netsim.New(netsim.Config{Seed: 7, Link: netsim.Link{Latency: netsim.Constant(100 * time.Microsecond), Bandwidth: 1.25e9},
				OnDrop: func(ev *netsim.Event) { net.OnNetEvent(ev) }})
			net = sim.New(ns, sim.Options{WireCheck: true})
			net.Add(master, func(env transport.Env) transport.Handler {
				return gcs.NewMaster(env, gcs.MasterConfig{Layout: l})
			})
			stores := []*gcs.MemStore{gcs.NewMemStore(), gcs.NewMemStore()}
			for i, id := range []transport.NodeID{head, tail} {
				net.Add(id, func(env transport.Env) transport.Handler {
					restarted := ns.Node(netsim.NodeID(id)).Incarnation() > 1
					if restarted {
						stores[i].Crash()
					}
					return gcs.NewReplica(env, gcs.ReplicaConfig{Index: 0, Rejoin: restarted,
						Shard: gcs.Config{Layout: l, Store: stores[i]}})
				})
			}
			pol, err := scheduler.NewPolicy("bottom-up")
			require.NoError(t, err)
			var g *scheduler.Global
			rec := &heard{now: func() time.Duration { return net.Sim.Now() }}
			net.Add(sched, func(env transport.Env) transport.Handler {
				g = scheduler.NewGlobal(env, scheduler.GlobalConfig{Layout: l, Policy: pol, StartupGrace: -1})
				rec.h = g
				return rec
			})
			var n *joinNode
			net.Add(node, func(env transport.Env) transport.Handler {
				n = &joinNode{c: gcs.NewClient(env, l)}
				return n
			})
			s := net.Sim
			// The tail crashes and restarts within the master's timeout:
			// what the head applies meanwhile is in the snapshot the
			// restarted tail joins with, and its side effects wait at the
			// head until the joiner acknowledges that snapshot.
			s.At(100*time.Millisecond, func() { s.Crash(netsim.NodeID(tail)) })
			s.At(101*time.Millisecond, func() {
				n.c.Send(head, &transport.RegisterNode{Node: node, Incarnation: 1, Total: transport.MakeResources(4, 0, nil)})
			})
			s.At(104*time.Millisecond, func() {
				s.SetLink(netsim.NodeID(head), netsim.NodeID(sched), netsim.Link{Latency: netsim.Constant(5 * time.Millisecond), Bandwidth: 1.25e9})
			})
			s.At(105*time.Millisecond, func() { s.Restart(netsim.NodeID(tail)) })
			s.At(leaveAt, func() { n.c.Send(head, &transport.NodeLeaving{Node: node, Incarnation: 1}) })
			s.RunUntil(time.Second)
			require.Zero(t, n.c.Pending(), "the node table took the registration and the leave")
			t.Logf("the scheduler heard: %q at %v", rec.log, rec.times)
			require.Equal(t, fmt.Sprintf("dead %d/1 from %d", node, tail), rec.log[0],
				"the joiner's news of the death came first")
			require.Contains(t, rec.log[1:], fmt.Sprintf("registered %d/1 from %d", node, head),
				"then the head's captured news of the registration")
			for _, v := range g.Loads() {
				require.False(t, v.Node == node && !v.Dead, "the node left: alive in the scheduler's view")
			}
		})
	}
}
