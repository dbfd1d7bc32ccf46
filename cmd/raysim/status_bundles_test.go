package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"raysim/runtime/transport"
)

// TestStatusFoldsGroupBundles: a node holding placement-group bundles lists
// them as a count, with their CPUs and custom resources counted in its
// totals; before, each renamed resource was a column of its own (rows of
// 300 characters) and a node whose CPUs a group held read "0/0 CPU".
func TestStatusFoldsGroupBundles(t *testing.T) {
	g := transport.GroupID(0xb2b01a156c71258c)
	n := statusNode{
		Total:     map[string]float64{"CPU": 0, "GPU": 0, "accel": 1},
		Available: map[string]float64{"CPU": 0, "GPU": 0, "accel": 1},
	}
	for i := range 2 {
		for _, q := range transport.BundleResources(g, i, transport.Resources{CPU: transport.Units(1), Custom: []transport.Quantity{{Name: "accel", Amount: transport.Units(1)}}}).Custom {
			n.Total[q.Name] += float64(q.Amount) / float64(transport.Units(1))
			n.Available[q.Name] = n.Total[q.Name]
		}
	}
	assert.Equal(t, "0/2 CPU 0/0 GPU 1/3 accel (2 group bundles)", resourcesText(n))
}

// TestStatusPlainNode: a node's own CPUs and GPUs are counted once, with a
// bundle's or without (review: every node showed them twice, 3/8 CPU for
// 4 CPUs, 3 free).
func TestStatusPlainNode(t *testing.T) {
	n := statusNode{Total: map[string]float64{"CPU": 4, "GPU": 1}, Available: map[string]float64{"CPU": 3, "GPU": 1}}
	assert.Equal(t, "3/4 CPU 1/1 GPU", resourcesText(n))
	g := transport.GroupID(7)
	for _, q := range transport.BundleResources(g, 0, transport.Resources{CPU: transport.Units(2)}).Custom {
		n.Total[q.Name] = float64(q.Amount) / float64(transport.Units(1))
		n.Available[q.Name] = n.Total[q.Name]
	}
	assert.Equal(t, "3/6 CPU 1/1 GPU (1 group bundle)", resourcesText(n))
}
