package replay

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"raysim/netsim"
	"raysim/runtime/gcs"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestStateHealsOnePartition: a heal that names a partition (a fault's own
// end, netsim.HealPartition) ends that one alone in time travel's state; a
// heal with no detail ends them all. Every heal cleared every partition.
func TestStateHealsOnePartition(t *testing.T) {
	s := newNetState()
	net := func(k netsim.EventKind, detail string) *traces.Record {
		return &traces.Record{Source: traces.Net, Kind: uint8(k), Detail: detail}
	}
	s.add(net(netsim.EvPartition, "[1][2]"))
	s.add(net(netsim.EvPartition, "[1][3]"))
	s.add(net(netsim.EvHeal, "[1][2]"))
	assert.Equal(t, []netFault{{detail: "[1][3]"}}, s.parts)
	s.add(net(netsim.EvPartition, "[2][3]"))
	s.add(net(netsim.EvHeal, ""))
	assert.Empty(t, s.parts)
}

// TestPrintLimitsEveryTable (QA): --limit bounded every table of the
// state dump but the GCS node table and the global scheduler's.
func TestPrintLimitsEveryTable(t *testing.T) {
	st := &State{Limit: 1, Shards: []ShardState{{Alive: true, Nodes: make([]gcs.NodeRow, 3)}},
		Scheduler: make([]scheduler.NodeLoad, 3)}
	var b strings.Builder
	st.Print(&b)
	assert.Equal(t, 1, strings.Count(b.String(), "  node "), b.String())
	assert.Equal(t, 2, strings.Count(b.String(), "... 2 more"), b.String())
}

// TestStateNamesNetFaults (qa32 #9): time travel's partitions and degraded
// links name their endpoints as the rest of the dump does, and a negative
// availability in the scheduler's view is explained. Fails before:
// "partition [1 2][4]", "1 -> 4: +5ms loss=0.05", no word on -19 CPUs.
func TestStateNamesNetFaults(t *testing.T) {
	s := newNetState()
	s.add(&traces.Record{Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1 2][4]"})
	s.add(&traces.Record{Source: traces.Net, Kind: uint8(netsim.EvDegrade), Node: 1, Peer: 4, Bytes: int64(5 * time.Millisecond), Detail: "loss=0.05"})
	s.add(&traces.Record{Source: traces.Net, Kind: uint8(netsim.EvPartition), Node: 2, Peer: 4, Detail: "cut"})
	st := &State{Nodes: []NodeState{{ID: 1, Name: "head"}, {ID: 2, Name: "worker-0"}, {ID: 4, Name: "worker-2"}},
		Scheduler: []scheduler.NodeLoad{{Node: 1, Available: transport.Resources{CPU: -19000}}}, Limit: 10}
	st.netFaults(s)
	assert.Equal(t, []string{"partition [head, worker-0][worker-2]", "cut worker-0 -> worker-2"}, st.Partitions)
	assert.Equal(t, []string{"head -> worker-2: +5ms loss=0.05"}, st.Degraded)
	var b strings.Builder
	st.Print(&b)
	assert.Contains(t, b.String(), "partitions: partition [head, worker-0][worker-2]")
	assert.Contains(t, b.String(), "a negative amount: the scheduler's optimistic view")
}
