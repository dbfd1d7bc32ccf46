package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDegradeLinkBandwidth: every setting of degrade_link takes effect — a
// bandwidth cap on the links of map-reduce's shuffle slows the run as the
// same cap in the cluster's network does (degrade_link used to apply only
// latency and loss, silently).
func TestDegradeLinkBandwidth(t *testing.T) {
	base := runOK(t, "map-reduce.yaml")
	degraded := runOK(t, "map-reduce.yaml", "faults=[{at: 0s, degrade_link: {from: node, to: node, bandwidth: 100Mbps}}]")
	linked := runOK(t, "map-reduce.yaml", "cluster.network.links=[{from: node, to: node, bandwidth: 100Mbps}]")
	assert.Greater(t, degraded.VirtualSeconds, 2*base.VirtualSeconds, "a 100Mbps cap slows the shuffle")
	assert.InEpsilon(t, linked.VirtualSeconds, degraded.VirtualSeconds, 0.2, "a degradation caps like a link setting")
}
