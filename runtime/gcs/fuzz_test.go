package gcs

import (
	"testing"

	"raysim/runtime/transport"
	"raysim/runtime/transport/transporttest"
)

// The identifiers of the GCS fuzzers' layouts: raylets 1 and 7, shard 10
// (unreplicated), or the chain 101-102-103 of shard 0 (and 111-112 of
// shard 1) with master 40; the scheduler is 99.
const (
	fzRaylet  transport.NodeID = 1
	fzRaylet2 transport.NodeID = 7
	fzShard   transport.NodeID = 10
	fzMaster  transport.NodeID = 40
	fzSched   transport.NodeID = 99

	fzTask     transport.TaskID  = 0x1010 // a task of raylet 1's, with two returns, one made on 1
	fzActor    transport.ActorID = 0x1020 // an actor alive on 1, named "f", with a checkpoint and a method log
	fzChild    transport.TaskID  = 0x1030 // a task never heard of
	fzCall     transport.TaskID  = 0x1040 // a call to fzActor (logged)
	fzFailed   transport.TaskID  = 0x1050 // a task recorded failed
	fzUnknownA transport.ActorID = 0x1060 // an actor never heard of
)

var fzIDs = transporttest.IDs{
	Nodes: []transport.NodeID{fzRaylet, fzRaylet2, fzShard, 101, 102, 103, fzMaster, fzSched},
	Tasks: []transport.TaskID{fzTask, fzActor, fzChild, fzCall, fzFailed, fzUnknownA},
}

// fzSenders: the layouts' raylets, GCS endpoints and scheduler, and
// strangers.
var fzSenders = []transport.NodeID{fzRaylet, fzRaylet2, fzShard, 101, 102, 103, fzMaster, fzSched, 111, 0, 666, 1 << 30}

// fzOps are the writes that give a shard some of every table: two live
// nodes, a task with a result, an actor alive with a name, a checkpoint
// and a method logged, a failed task, a subscriber.
func fzOps() []struct {
	from transport.NodeID
	m    transport.Message
} {
	cpu := transport.MakeResources(2, 0, nil)
	spec := transport.TaskSpec{ID: fzTask, Func: "f", NumReturns: 2, Owner: fzRaylet, Resources: transport.MakeResources(1, 0, nil)}
	creation := transport.TaskSpec{ID: fzActor, Actor: fzActor, Func: "A", Owner: fzRaylet,
		Act: &transport.ActorSpec{Creation: true, Replay: true, MaxRestarts: 2, Name: "f"}}
	call := transport.TaskSpec{ID: fzCall, Actor: fzActor, Func: "m", NumReturns: 1, Owner: fzRaylet2,
		Act: &transport.ActorSpec{Caller: fzChild, Seq: 1, SeqBase: 1}}
	failed := transport.TaskSpec{ID: fzFailed, Func: "f", NumReturns: 1, Owner: fzRaylet2}
	return []struct {
		from transport.NodeID
		m    transport.Message
	}{
		{fzRaylet, &transport.RegisterNode{Node: fzRaylet, Incarnation: 1, Total: cpu, Functions: 1}},
		{fzRaylet2, &transport.RegisterNode{Node: fzRaylet2, Incarnation: 1, Total: cpu, Functions: 1}},
		{fzRaylet, &transport.Heartbeat{Node: fzRaylet, Incarnation: 1, Total: cpu, Available: cpu}},
		{fzRaylet, &transport.GcsAddTask{Spec: spec}},
		{fzRaylet, &transport.GcsAddObject{Object: spec.Return(0), Node: fzRaylet, Size: 10, Incarnation: 1, Owner: fzRaylet}},
		{fzRaylet2, &transport.GcsSubscribeObject{Object: spec.Return(1)}},
		{fzRaylet, &transport.GcsAddTask{Spec: creation}},
		{fzRaylet, &transport.GcsActorUpdate{Actor: fzActor, Node: fzRaylet, State: transport.ActorAlive, Name: "f", Owner: fzRaylet, Incarnation: 1, Class: "A"}},
		{fzRaylet, &transport.GcsActorCheckpoint{Actor: fzActor, Calls: 1, Data: []byte("state"), Incarnation: 1}},
		{fzRaylet2, &transport.GcsAddTask{Spec: call}},
		{fzRaylet, &transport.GcsActorMethod{Actor: fzActor, Calls: 2, Spec: call, Incarnation: 1}},
		{fzRaylet2, &transport.GcsAddTask{Spec: failed}},
		{fzRaylet2, &transport.GcsTaskFailed{Task: fzFailed, ErrKind: transport.ErrKindCancelled}},
	}
}

// fuzzShard is the node-table shard of a one-shard GCS, after fzOps.
func fuzzShard() (*Shard, *transporttest.FuzzEnv) {
	env := transporttest.NewFuzzEnv(fzShard)
	env.CheckSends = true
	l := &Layout{Shards: []transport.NodeID{fzShard}, Scheduler: fzSched, Raylets: []transport.NodeID{fzRaylet, fzRaylet2}}
	s := New(env, Config{Layout: l})
	for _, op := range fzOps() {
		s.Handle(op.from, op.m)
	}
	return s, env
}

// FuzzShard delivers hostile messages to a GCS shard holding some of
// every table: none may crash it or make it work without bound.
func FuzzShard(f *testing.F) {
	transporttest.AddSeeds(f, fzIDs)
	f.Fuzz(func(t *testing.T, froms, a, b []byte) {
		s, env := fuzzShard()
		d := transporttest.Deliverer{Env: env, Handle: s.Handle, Senders: fzSenders, Timers: 16}
		d.Deliver(froms, a, b)
	})
}

// fuzzReplica is replica pos (0 head, 1 middle, 2 tail) of shard 0's
// three-member chain, after fzOps went through it (requests at the head,
// updates from its predecessor elsewhere).
func fuzzReplica(pos int) (*Replica, *transporttest.FuzzEnv) {
	chain := []transport.NodeID{101, 102, 103}
	env := transporttest.NewFuzzEnv(chain[pos])
	env.CheckSends = true
	l := &Layout{Shards: []transport.NodeID{101, 111}, Chains: [][]transport.NodeID{chain, {111, 112}}, Master: fzMaster,
		Scheduler: fzSched, Raylets: []transport.NodeID{fzRaylet, fzRaylet2}}
	r := NewReplica(env, ReplicaConfig{Shard: Config{Layout: l}, Index: 0, Incarnation: 1})
	for i, op := range fzOps() {
		seq := uint64(i + 1)
		if pos == 0 {
			r.Handle(op.from, &transport.GcsRequest{Seq: seq, Low: 1, Epoch: 1, Chain: 1, Op: op.m})
		} else {
			r.Handle(chain[pos-1], &transport.ChainUpdate{Index: seq, Client: op.from, Seq: seq, Low: 1, Epoch: 1, Op: op.m})
		}
	}
	return r, env
}

// FuzzReplica delivers hostile messages to a member of a GCS chain (which
// one the input says): none may crash it or make it work without bound.
func FuzzReplica(f *testing.F) {
	transporttest.EachSeed(fzIDs, func(i int, froms, a, b []byte) { f.Add(uint8(i), froms, a, b) })
	f.Fuzz(func(t *testing.T, pos uint8, froms, a, b []byte) {
		r, env := fuzzReplica(int(pos % 3))
		d := transporttest.Deliverer{Env: env, Handle: r.Handle, Senders: fzSenders, Timers: 16}
		d.Deliver(froms, a, b)
	})
}

// FuzzMaster delivers hostile messages to the chain master.
func FuzzMaster(f *testing.F) {
	transporttest.AddSeeds(f, fzIDs)
	f.Fuzz(func(t *testing.T, froms, a, b []byte) {
		env := transporttest.NewFuzzEnv(fzMaster)
		env.CheckSends = true
		l := &Layout{Shards: []transport.NodeID{101, 111}, Chains: [][]transport.NodeID{{101, 102, 103}, {111, 112}}, Master: fzMaster,
			Scheduler: fzSched, Raylets: []transport.NodeID{fzRaylet, fzRaylet2}}
		m := NewMaster(env, MasterConfig{Layout: l})
		d := transporttest.Deliverer{Env: env, Handle: m.Handle, Senders: fzSenders, Timers: 16}
		d.Deliver(froms, a, b)
	})
}
