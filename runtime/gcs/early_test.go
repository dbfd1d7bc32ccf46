package gcs

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/runtime/transport"
)

// plainStore hides MemStore.PutNew: a shard on it takes the conservative
// path (every spec looks for its objects), which is the behaviour before
// Shard.early.
type plainStore struct{ Store }

type sentMsg struct {
	to transport.NodeID
	m  string
}

type diffEnv struct {
	self transport.NodeID
	sent *[]sentMsg
}

func (e diffEnv) Self() transport.NodeID                    { return e.self }
func (diffEnv) Now() time.Time                              { return time.Unix(0, 0) }
func (diffEnv) After(time.Duration, func()) transport.Timer { return noTimer{} }
func (diffEnv) Rand() *rand.Rand                            { return rand.New(rand.NewPCG(1, 2)) }
func (e diffEnv) Send(to transport.NodeID, m transport.Message) {
	*e.sent = append(*e.sent, sentMsg{to, fmt.Sprintf("%T%+v", m, m)})
}
func (diffEnv) Charge(time.Duration)  {}
func (diffEnv) Go(func())             {}
func (diffEnv) Await(func(func()))    {}
func (diffEnv) Post(func())           {}
func (diffEnv) Emit(*transport.Event) {}

// dump is the whole content of a store.
func dump(s Store) map[string]string {
	out := map[string]string{}
	for t := 1; t <= numTables; t++ {
		s.Scan(Table(t), func(k, v []byte) bool {
			out[fmt.Sprintf("%d/%x", t, k)] = string(v)
			return true
		})
	}
	return out
}

// TestEarlyMatchesConservative: random specs (new, repeated), object
// locations (early, late, from dead incarnations, Puts, freed), frees,
// subscriptions, removals, node deaths, syncs, crashes, reloads, snapshot
// installs and jobs' ends (GcsObjectsGone), applied to a shard on a
// MemStore (PutNew: early) and to one on the same kind of store seen
// through the plain Store interface (every spec looks for its objects, as
// before early). Both must keep the same tasks and objects in memory,
// write the same store and send the same messages; and the early set must
// be exactly the tasks with a made object and no spec. The plain shard
// also adds every object through the general path (no addNewObject, no
// freeFlushed: free's or gone's), so the same comparison checks those
// shortcuts.
func TestEarlyMatchesConservative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99, Raylets: []transport.NodeID{1, 2, 3}}
		syncEvery := rapid.IntRange(-1, 5).Draw(t, "syncEvery")
		if syncEvery == 0 {
			syncEvery = 1
		}
		var sentA, sentB []sentMsg
		stA, stB := NewMemStore(), NewMemStore()
		mk := func(st *MemStore, plain bool, sent *[]sentMsg) *Shard {
			var store Store = st
			if plain {
				store = plainStore{st}
			}
			sh := New(diffEnv{self: 10, sent: sent}, Config{Layout: l, Store: store, SyncEvery: syncEvery})
			sh.generalAdd = plain
			return sh
		}
		a, b := mk(stA, false, &sentA), mk(stB, true, &sentB)
		returns := func(task transport.TaskID) uint32 { return uint32(task % 3) } // 0, 1 or 2
		spec := func(task transport.TaskID) transport.TaskSpec {
			s := transport.TaskSpec{ID: task, NumReturns: returns(task), Func: "f", Owner: 1}
			if task == 6 {
				s.Actor, s.Act = 6, &transport.ActorSpec{Creation: true}
			}
			return s
		}
		taskG := rapid.Custom(func(t *rapid.T) transport.TaskID { return transport.TaskID(rapid.IntRange(1, 8).Draw(t, "task")) })
		objG := rapid.Custom(func(t *rapid.T) transport.ObjectID {
			return transport.ObjectID{Task: taskG.Draw(t, "otask"), Index: uint32(rapid.IntRange(0, 2).Draw(t, "idx")),
				Put: rapid.IntRange(0, 5).Draw(t, "put") == 0}
		})
		nodeG := rapid.Custom(func(t *rapid.T) transport.NodeID { return transport.NodeID(rapid.IntRange(1, 3).Draw(t, "node")) })
		incs := map[transport.NodeID]uint64{1: 1, 2: 1, 3: 1}
		both := func(m transport.Message) {
			a.Handle(1, m)
			b.Handle(1, m)
		}
		for range rapid.IntRange(1, 80).Draw(t, "ops") {
			switch op := rapid.IntRange(0, 14).Draw(t, "op"); op {
			case 0, 1, 2:
				both(&transport.GcsAddTask{Spec: spec(taskG.Draw(t, "spec"))})
			case 3:
				n := rapid.IntRange(1, 3).Draw(t, "nspecs")
				var specs []transport.TaskSpec
				for range n {
					specs = append(specs, spec(taskG.Draw(t, "bspec")))
				}
				both(&transport.GcsAddTasks{Specs: pointers(specs)})
			case 4, 5, 6:
				n := nodeG.Draw(t, "onode")
				inc := incs[n]
				if rapid.IntRange(0, 4).Draw(t, "stale") == 0 && inc > 1 {
					inc--
				}
				both(&transport.GcsAddObject{Object: objG.Draw(t, "obj"), Node: n, Size: 8, Incarnation: inc,
					Owner: transport.NodeID(rapid.IntRange(0, 1).Draw(t, "owner"))})
			case 7:
				var ids []transport.ObjectID
				for range rapid.IntRange(1, 3).Draw(t, "nfree") {
					ids = append(ids, objG.Draw(t, "free"))
				}
				both(&transport.GcsFreeObjects{Objects: ids})
			case 8:
				id := objG.Draw(t, "sub")
				n := nodeG.Draw(t, "subnode")
				a.Handle(n, &transport.GcsSubscribeObject{Object: id})
				b.Handle(n, &transport.GcsSubscribeObject{Object: id})
			case 9:
				n := nodeG.Draw(t, "rmnode")
				both(&transport.GcsRemoveObject{Object: objG.Draw(t, "rm"), Node: n, Incarnation: incs[n]})
			case 10:
				n := nodeG.Draw(t, "dead")
				// From the GCS itself: a shard takes deaths only from the
				// node table (a raylet's NodeDead is ignored).
				a.Handle(10, &transport.NodeDead{Node: n, Incarnation: incs[n]})
				b.Handle(10, &transport.NodeDead{Node: n, Incarnation: incs[n]})
				incs[n]++
			case 11:
				require.NoError(t, stA.Sync())
				require.NoError(t, stB.Sync())
			case 12:
				if rapid.Bool().Draw(t, "crash") {
					stA.Crash()
					stB.Crash()
				}
				a, b = mk(stA, false, &sentA), mk(stB, true, &sentB)
			case 14: // a job's end (gone): freeFlushed's other case
				var ids []transport.ObjectID
				for range rapid.IntRange(1, 3).Draw(t, "ngone") {
					ids = append(ids, objG.Draw(t, "gone"))
				}
				both(&transport.GcsObjectsGone{Objects: ids})
			case 13: // a snapshot installed as Replica.onSnapshot does
				for _, pair := range []struct {
					st *MemStore
					sh *Shard
				}{{stA, a}, {stB, b}} {
					d := dump(pair.st)
					for t := 1; t <= numTables; t++ {
						var keys [][]byte
						pair.st.Scan(Table(t), func(k, _ []byte) bool { keys = append(keys, slices.Clone(k)); return true })
						for _, k := range keys {
							pair.st.Delete(Table(t), k)
						}
					}
					for _, k := range slices.Sorted(maps.Keys(d)) {
						var tb int
						var key []byte
						fmt.Sscanf(k, "%d/%x", &tb, &key)
						pair.st.Put(Table(tb), key, []byte(d[k]))
					}
					pair.sh.load()
				}
			}
			// Same memory, store and messages.
			require.Equal(t, slices.Sorted(b.tasks.Keys()), slices.Sorted(a.tasks.Keys()), "resident tasks")
			require.Equal(t, b.objects.Len(), a.objects.Len(), "resident objects")
			require.Equal(t, b.flushedObjects, a.flushedObjects)
			require.Equal(t, dump(stB), dump(stA), "stores")
			require.Equal(t, len(stB.undo), len(stA.undo), "unsynced writes")
			require.Equal(t, sentB, sentA, "messages")
			// early is the tasks with a made return object and no spec.
			want := map[transport.TaskID]struct{}{}
			stA.Scan(TableObjects, func(k, v []byte) bool {
				id := transport.NewDecoder(k).Object()
				if e := a.decodeObject(v); e.created && !id.Put {
					if _, ok := stA.Get(TableTasks, taskKey(id.Task)); !ok {
						want[id.Task] = struct{}{}
					}
				}
				return true
			})
			require.Equal(t, want, a.early, "early")
			// No finished task stays in memory.
			for id, m := range a.tasks.All() {
				fin := !m.creation && m.returns > 0
				for i := range m.returns {
					v, ok := stA.Get(TableObjects, objectKey(transport.ObjectID{Task: id, Index: i}))
					fin = fin && ok && a.decodeObject(v).created
				}
				require.False(t, fin, "task %d finished and resident", id)
			}
		}
	})
}

// TestEarlyBoltStore: a store that cannot tell new keys (BoltStore) takes
// the conservative path — every spec looks for its objects — and keeps no
// early set: an object before its spec, or a copy of a finished task's
// object, costs no lookup of the spec and leaves nothing behind.
func TestEarlyBoltStore(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	st, err := OpenBolt(t.TempDir() + "/gcs.db")
	require.NoError(t, err)
	defer st.Close()
	sh := New(fakeEnv{self: 10}, Config{Layout: l, Store: st})
	obj := func(task transport.TaskID, n transport.NodeID) *transport.GcsAddObject {
		return &transport.GcsAddObject{Object: transport.ObjectID{Task: task}, Node: n, Size: 8}
	}
	spec := &transport.GcsAddTask{Spec: transport.TaskSpec{ID: 1, NumReturns: 1, Func: "f", Owner: 1}}
	sh.Handle(1, obj(1, 1)) // before its spec
	require.Empty(t, sh.early)
	sh.Handle(1, spec)
	require.Equal(t, 0, sh.Stats().ResidentTasks, "task 1 came finished")
	sh.Handle(1, obj(1, 2)) // a copy
	require.Empty(t, sh.early)
	require.NoError(t, st.Sync())
	sh = New(fakeEnv{self: 10}, Config{Layout: l, Store: st})
	require.Empty(t, sh.early)
	require.Equal(t, 0, sh.Stats().ResidentTasks)
}
