package analysis_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

func netRec(at float64, kind netsim.EventKind, node, peer uint64, detail string) traces.Record {
	return traces.Record{At: ms(at), Source: traces.Net, Kind: uint8(kind), Node: transport.NodeID(node), Peer: transport.NodeID(peer), Detail: detail}
}

// TestLinkRestoreEndsItsFault: the end of a link degradation (net.degrade
// "restore", logged per link) and of a partition (net.heal naming its
// groups) are not faults: they end the fault they close (Fault.Ended). A
// restore was a fault row of its own, judged for a dip and a recovery
// (scenarios/fault-lossy-network.yaml: four rows, two of them restores,
// for one injected fault), and an explicit heal's restores of every link
// added a row per link.
func TestLinkRestoreEndsItsFault(t *testing.T) {
	recs := append(steady(800),
		netRec(100, netsim.EvDegrade, 1, 2, "loss=0.2"),
		netRec(150, netsim.EvPartition, 0, 0, "[1][2]"),
		netRec(250, netsim.EvHeal, 0, 0, "[1][2]"), // the partition's own end (its `for`)
		netRec(300, netsim.EvDegrade, 1, 2, "restore"),
		netRec(400, netsim.EvDegrade, 2, 1, "loss=0.5"),
		netRec(450, netsim.EvPartition, 0, 0, "[1][2]"),
		// An explicit heal: every partition, and every link restored.
		netRec(500, netsim.EvHeal, 0, 0, ""),
		netRec(500, netsim.EvDegrade, 1, 2, "restore"),
		netRec(500, netsim.EvDegrade, 2, 1, "restore"),
	)
	rep := synth(t, twoNodes, sorted(recs))
	var kinds []string
	for _, f := range rep.Faults {
		kinds = append(kinds, f.Kind)
	}
	require.Equal(t, []string{"degrade", "partition", "degrade", "partition", "heal"}, kinds, "%+v", rep.Faults)
	f := rep.Faults
	assert.Equal(t, ms(300), f[0].Ended, "the 1->2 degradation ends at its restore")
	assert.Equal(t, ms(250), f[1].Ended, "the partition ends at its own heal")
	assert.Equal(t, ms(500), f[2].Ended, "the 2->1 degradation ends at the heal's restore")
	assert.Equal(t, ms(500), f[3].Ended, "the second partition ends at the explicit heal")
	assert.Zero(t, f[4].Ended, "a heal is no fault")
	assert.Contains(t, f[0].DetailText(), "until 300ms")

	for _, f := range rep.Faults {
		assert.NotEqual(t, "restore", f.Kind)
		assert.NotContains(t, f.Detail, "restore")
	}
}

// TestFaultEnds: which event ends which fault.
func TestFaultEnds(t *testing.T) {
	crash2 := analysis.Fault{Kind: "crash", Node: 2}
	deg12 := analysis.Fault{Kind: "degrade", Node: 1, Peer: 2}
	part := analysis.Fault{Kind: "partition", Detail: "[1][2]"}
	for _, c := range []struct {
		f, g analysis.Fault
		want bool
	}{
		{analysis.Fault{Kind: "restart", Node: 2}, crash2, true},
		{analysis.Fault{Kind: "restart", Node: 3}, crash2, false},
		{analysis.Fault{Kind: "restore", Node: 1, Peer: 2}, deg12, true},
		{analysis.Fault{Kind: "restore", Node: 2, Peer: 1}, deg12, false},
		{analysis.Fault{Kind: "restore", Node: 1, Peer: 2}, crash2, false},
		{analysis.Fault{Kind: "heal"}, part, true},
		{analysis.Fault{Kind: "heal", Detail: "[1][2]"}, part, true},
		{analysis.Fault{Kind: "heal", Detail: "[1][3]"}, part, false},
		{analysis.Fault{Kind: "heal"}, deg12, false},
		{crash2, crash2, false},
		{analysis.Fault{Kind: "restart", Node: 2}, analysis.Fault{Kind: "crash", Node: 2, Ended: ms(1)}, false},
	} {
		assert.Equal(t, c.want, c.f.Ends(c.g), "%s %v ends %s %v", c.f.Kind, c.f.Node, c.g.Kind, c.g.Node)
	}
}
