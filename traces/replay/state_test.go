package replay

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"raysim/netsim"
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
