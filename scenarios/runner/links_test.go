package runner

import (
	"testing"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/scenarios"
)

// Guards that cluster.network.links merge per key, as docs/scenarios.md
// says ("every matching link in order (later ones win per key)") and
// scenarios.Network's comment ("later links win per field"). applyLinks
// started every entry from the network's defaults and SetLink replaced the
// pair's whole model, so a later entry that set only loss on a pair reset
// the latency an earlier entry had given it back to the default: below,
// a -> b lost its 50ms and ran at 100us. Right: a -> b has 50ms latency
// and 10% loss.
func TestLinksMergePerKey(t *testing.T) {
	s, err := scenarios.Parse("links.yaml", []byte(`
cluster:
  nodes:
    - {name: a}
    - {name: b}
  network:
    links:
      - {from: a, to: b, latency: 50ms}
      - {from: a, to: b, loss: 10%}
workload:
  - generator: parallel
    params: {tasks: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clusterConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	_, models := linkModels(s, cfg.Link)
	ab := [2]netsim.NodeID{netsim.NodeID(ray.RayletID(0)), netsim.NodeID(ray.RayletID(1))}
	got, ok := models[ab]
	if !ok {
		t.Fatalf("no model for a -> b")
	}
	if got.Latency.Mean != 50*time.Millisecond {
		t.Errorf("a -> b latency %v, want the first link's 50ms (the second, which sets only loss, reset it)", got.Latency.Mean)
	}
	if got.Loss != 0.1 {
		t.Errorf("a -> b loss %v, want 0.1", got.Loss)
	}
}
