package replay

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"raysim/netsim"
	"raysim/runtime/gcs"
	"raysim/runtime/scheduler"
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
	assert.Equal(t, []string{"partition [1][3]"}, s.parts)
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
