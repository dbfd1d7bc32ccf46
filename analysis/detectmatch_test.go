package analysis_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestDetectionMatchedToItsFault: node b is partitioned off at 100ms, a GCS
// replica crashes at 150ms, and b is declared dead at 400ms. The node.dead
// is the partition's detection; but a later fault of any node ended a
// partition's window for detection, so the GCS crash (which no node.dead
// detects) took it from the partition: "not detected". Likewise a crash of
// another node (c) in between. A node.dead belongs to the latest
// detectable fault that concerns its node: the crash or pause of that
// node, a partition that cuts it off.
func TestDetectionMatchedToItsFault(t *testing.T) {
	const threeNodes = `name: synth
seed: 1
cluster:
  nodes:
    - {name: a, cpus: 2}
    - {name: b, cpus: 2}
    - {name: c, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 1, duration: 1ms}
`
	gcs := ray.ReplicaID(0, 1)
	for _, between := range []traces.Record{
		{At: ms(150), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: gcs, Peer: gcs},
		{At: ms(150), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 3, Peer: 3},
		{At: ms(150), Source: traces.Net, Kind: uint8(netsim.EvPause), Node: 1, Peer: 1, Bytes: int64(ms(5))},
	} {
		recs := append(steady(600),
			traces.Record{At: ms(100), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1 3][2]"},
			between,
			rt(ms(400), transport.EvNodeDead, 2, 0, 0, ""))
		rep := synth(t, threeNodes, sorted(recs))
		require.Len(t, rep.Faults, 2)
		part, other := rep.Faults[0], rep.Faults[1]
		require.Equal(t, "partition", part.Kind)
		assert.Equal(t, ms(400), part.Detected, "%s of %v between: b's node.dead is the partition's", other.Kind, other.Node)
		assert.Equal(t, ms(300), part.DetectAfter)
		assert.Zero(t, other.Detected, "%s of %v: b's death is not its detection", other.Kind, other.Node)
	}

	// A node the partition does not cut off is not its detection; a later
	// partition that cuts b off takes b's node.dead from an earlier one.
	recs := append(steady(600),
		traces.Record{At: ms(100), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1][3]"},
		traces.Record{At: ms(200), Source: traces.Net, Kind: uint8(netsim.EvPartition), Detail: "[1][2]"},
		rt(ms(400), transport.EvNodeDead, 2, 0, 0, ""),
		rt(ms(450), transport.EvNodeDead, 3, 0, 0, ""))
	rep := synth(t, threeNodes, sorted(recs))
	require.Len(t, rep.Faults, 2)
	assert.Equal(t, ms(450), rep.Faults[0].Detected, "[1][3]: c's death")
	assert.Equal(t, ms(400), rep.Faults[1].Detected, "[1][2]: b's death")

	// A node.dead with no fault before it (a live cluster's node failing
	// by itself) detects nothing.
	rep = synth(t, threeNodes, append(steady(10), rt(ms(20), transport.EvNodeDead, 2, 0, 0, "")))
	assert.Empty(t, rep.Faults)
	assert.Equal(t, 1, rep.Nodes[1].Dead)
}
