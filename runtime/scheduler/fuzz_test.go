package scheduler

import (
	"testing"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
	"raysim/runtime/transport/transporttest"
)

// The identifiers of FuzzGlobal's layout: raylets 1, 7 and 8 (8 never
// registers), GCS shard 50, scheduler 60.
const (
	fzTask     transport.TaskID  = 0x1010 // a task held infeasible (it wants 8 GPUs)
	fzActor    transport.ActorID = 0x1020 // an actor the GCS restarted once
	fzArgTask  transport.TaskID  = 0x1030 // the task of an argument located on node 7
	fzStranger transport.TaskID  = 0x1040
)

var fzIDs = transporttest.IDs{
	Nodes: []transport.NodeID{1, 7, 8, 50, 60},
	Tasks: []transport.TaskID{fzTask, fzActor, fzArgTask, fzStranger},
}

var fzSenders = []transport.NodeID{50, 1, 7, 8, 60, 0, 666, 1 << 30}

// fuzzGlobal is a scheduler that knows nodes 1 and 7 (and, starting, waits
// for 8), holds an infeasible task, and has placed an actor's restart.
func fuzzGlobal(policy string, starting bool) (*Global, *transporttest.FuzzEnv) {
	env := transporttest.NewFuzzEnv(60)
	env.CheckSends = true
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 7, 8}}
	pol, err := NewPolicy(policy)
	if err != nil {
		panic(err)
	}
	grace := -1
	if starting {
		grace = 0
	}
	g := NewGlobal(env, GlobalConfig{Layout: l, Policy: pol, StartupGrace: time.Duration(grace)})
	cpu := transport.MakeResources(4, 1, nil)
	for _, n := range []transport.NodeID{1, 7} {
		g.Handle(50, &transport.RegisterNode{Node: n, Incarnation: 1, Total: cpu})
		g.Handle(50, &transport.Heartbeat{Node: n, Incarnation: 1, Total: cpu, Available: cpu, QueueLen: 1})
	}
	g.Handle(1, &transport.SpillTask{Spec: transport.TaskSpec{ID: fzTask, Func: "f", NumReturns: 1, Owner: 1,
		Resources: transport.MakeResources(1, 8, nil)}})
	g.Handle(50, &transport.SpillTask{Spec: transport.TaskSpec{ID: fzActor, Actor: fzActor, Func: "A", Owner: 1,
		Attempt: transport.RestartAttempt(1), Act: &transport.ActorSpec{Creation: true}}})
	// Placement groups 1 (committed on node 1; the filler's group IDs are
	// 1 and 2) and 2 (pending: no node has 8 GPUs free), and a task held
	// for group 2.
	g.Handle(1, &transport.GroupCreate{Group: 1, Strategy: transport.GroupStrictPack, Bundles: []transport.Resources{transport.MakeResources(1, 0, nil)}})
	g.Handle(1, &transport.BundlePrepared{Group: 1, Round: 1, Incarnation: 1, OK: true})
	g.Handle(7, &transport.GroupCreate{Group: 2, Strategy: transport.GroupSpread, Bundles: []transport.Resources{transport.MakeResources(0, 8, nil)}})
	g.Handle(7, &transport.SpillTask{Spec: transport.TaskSpec{ID: fzStranger + 1, Func: "f", NumReturns: 1, Owner: 7,
		Resources: transport.InBundle(2, 0, transport.MakeResources(0, 8, nil))}})
	return g, env
}

// FuzzGlobal delivers hostile messages to the global scheduler, under
// the policy the input picks, at start-up or after: none may crash it or
// make it work without bound.
func FuzzGlobal(f *testing.F) {
	transporttest.EachSeed(fzIDs, func(i int, froms, a, b []byte) { f.Add(uint8(i), froms, a, b) })
	names := PolicyNames()
	f.Fuzz(func(t *testing.T, mode uint8, froms, a, b []byte) {
		g, env := fuzzGlobal(names[int(mode>>1)%len(names)], mode&1 == 1)
		d := transporttest.Deliverer{Env: env, Handle: g.Handle, Senders: fzSenders, Timers: 16}
		d.Deliver(froms, a, b)
	})
}
