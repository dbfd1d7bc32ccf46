package node

import (
	"context"
	"testing"

	"raysim/runtime/gcs"
	"raysim/runtime/objstore"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/runtime/transport/transporttest"
)

// The identifiers of fuzzRaylet's layout and state: node 1 is the raylet
// under test, 7 and 8 its peers; 50 and 51 the GCS chain of shard 0, 40
// its master, 60 the scheduler.
const (
	fzSelf  transport.NodeID = 1
	fzPeer  transport.NodeID = 7
	fzPeer2 transport.NodeID = 8

	fzDriver transport.TaskID  = 0x1000 // the driver submitting fzOwned, fzActor, fzCall
	fzOwned  transport.TaskID  = 0x1010 // a task this node owns
	fzActor  transport.ActorID = 0x1020
	fzCall   transport.TaskID  = 0x1030 // a call of this node's driver to fzActor
	fzHosted transport.ActorID = 0x2000 // an actor of node 7's, placed here
	fzPlaced transport.TaskID  = 0x2010 // a task of node 7's, placed here, reading fzRemote
	fzRemote transport.TaskID  = 0x3000 // its argument's task, pulled from node 7
	fzPut    transport.TaskID  = 0x4000 // an object put here (served in chunks)
)

var fzLayout = gcs.Layout{Shards: []transport.NodeID{50}, Chains: [][]transport.NodeID{{50, 51}}, Master: 40,
	Scheduler: 60, Raylets: []transport.NodeID{fzSelf, fzPeer, fzPeer2}}

// fuzzRaylet is a registered raylet with some of everything a message can
// name: tasks and an actor it owns, a call to that actor, an actor and a
// task placed on it by a peer, a pull under way and a put object; and
// placement groups (the filler's group IDs are 1 and 2): bundle 0 of group
// 1 committed here with a task of node 7's running in it, bundle 1 of
// group 2 set aside, and group 1 created by this node's driver.
func fuzzRaylet(t testing.TB) (*Raylet, *transporttest.FuzzEnv) {
	env := transporttest.NewFuzzEnv(fzSelf)
	env.CheckSends = true
	l := fzLayout
	pol, err := scheduler.NewPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	r := New(env, Config{Layout: &l, Resources: transport.MakeResources(6, 1, nil), Policy: pol, ChunkBytes: 64, Incarnation: 1,
		Registry: fzRegistry{}})
	env.RunTimers(1) // start: register, heartbeat
	r.Handle(50, &transport.RegisterNode{Node: fzSelf, Incarnation: 1})

	cpu := transport.MakeResources(1, 0, nil)
	r.submit(&transport.TaskSpec{ID: fzOwned, Parent: fzDriver, Func: "f", NumReturns: 1, Owner: fzSelf, Resources: cpu})
	r.submit(&transport.TaskSpec{ID: fzActor, Parent: fzDriver, Actor: fzActor, Func: "A", Owner: fzSelf, Resources: cpu,
		Act: &transport.ActorSpec{Creation: true, MaxRestarts: 1, Name: "f"}})
	r.submit(&transport.TaskSpec{ID: fzCall, Parent: fzDriver, Actor: fzActor, Func: "m", NumReturns: 1, Owner: fzSelf,
		Act: &transport.ActorSpec{Caller: fzDriver, Seq: 1, SeqBase: 1}})
	r.Handle(60, &transport.PlaceTask{Spec: transport.TaskSpec{ID: fzHosted, Actor: fzHosted, Func: "A", Owner: fzPeer, Resources: cpu,
		Act: &transport.ActorSpec{Creation: true, Replay: true, CheckpointEvery: 2}}, Reason: "spilled", Incarnation: 1})
	r.Handle(60, &transport.PlaceTask{Spec: transport.TaskSpec{ID: fzPlaced, Func: "f", NumReturns: 2, Owner: fzPeer, Resources: cpu,
		Args: []transport.Arg{{IsRef: true, Ref: transport.ObjectID{Task: fzRemote}}}}, Reason: "spilled", Incarnation: 1})
	r.Handle(50, &transport.ObjectLocated{Object: transport.ObjectID{Task: fzRemote}, Node: fzPeer, Size: 200})
	r.need(transport.ObjectID{Task: fzRemote, Index: 1}, waitFunc(func(*objstore.Entry) {}))
	r.put(transport.ObjectID{Task: fzPut, Put: true}, transport.Value{Data: []byte("x"), Size: 300}, true)
	r.Handle(60, &transport.BundlePrepare{Group: 1, Round: 1, Incarnation: 1, Bundles: []transport.Bundle{{Index: 0, Resources: cpu}}})
	r.Handle(60, &transport.BundleCommit{Group: 1, Round: 1})
	r.Handle(60, &transport.BundlePrepare{Group: 2, Round: 2, Incarnation: 1, Bundles: []transport.Bundle{{Index: 1, Resources: cpu}}})
	r.Handle(60, &transport.PlaceTask{Spec: transport.TaskSpec{ID: fzPlaced + 1, Func: "f", NumReturns: 1, Owner: fzPeer,
		Resources: transport.InBundle(1, 0, cpu)}, Reason: "spilled", Incarnation: 1})
	r.groups = map[transport.GroupID]*ownedGroup{1: {}}
	return r, env
}

// fzRegistry has the function "f" and the actor type "A" with method "m"
// (never run: the fuzz env runs no coroutine).
type fzRegistry struct{}

func (fzRegistry) Func(name string) (Func, bool) {
	return func(context.Context, []transport.Value) (transport.Value, error) { return transport.Value{}, nil }, name == "f"
}
func (fzRegistry) MultiFunc(string) (MultiFunc, bool) { return nil, false }
func (fzRegistry) Actor(name string) (*ActorType, bool) {
	m := func(context.Context, any, []transport.Value) (transport.Value, error) { return transport.Value{}, nil }
	return &ActorType{New: func(context.Context, []transport.Value) (any, error) { return struct{}{}, nil },
		Methods: map[string]Method{"m": m}}, name == "A"
}
func (fzRegistry) Digest() uint64 { return 1 }

var fzIDs = transporttest.IDs{
	Nodes: []transport.NodeID{fzSelf, fzPeer, fzPeer2, 50, 60},
	Tasks: []transport.TaskID{fzOwned, fzActor, fzCall, fzHosted, fzPlaced, fzRemote, fzPut, fzDriver},
}

// fzSenders are who a fuzzed message comes from: every endpoint of the
// layout, the raylet itself, and strangers (0 is no node, 666 none of the
// layout's, 1<<30 an agent's).
var fzSenders = []transport.NodeID{fzPeer, 50, 60, fzPeer2, 51, 40, fzSelf, 0, 666, 1 << 30}

// FuzzRaylet delivers hostile messages to a raylet in the middle of work:
// none may crash it or make it work without bound.
func FuzzRaylet(f *testing.F) {
	transporttest.AddSeeds(f, fzIDs)
	f.Fuzz(func(t *testing.T, froms, a, b []byte) {
		r, env := fuzzRaylet(t)
		d := transporttest.Deliverer{Env: env, Handle: r.Handle, Senders: fzSenders, Timers: 16}
		d.Deliver(froms, a, b)
	})
}
