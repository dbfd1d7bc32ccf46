package transport_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestBundleResourceNames: renamed resources follow Ray's names and parse
// back; other names do not parse as a group's.
func TestBundleResourceNames(t *testing.T) {
	g := transport.GroupID(0xab)
	assert.Equal(t, "CPU_group_2_00000000000000ab", transport.BundleResourceName("CPU", g, 2))
	assert.Equal(t, "CPU_group_00000000000000ab", transport.BundleResourceName("CPU", g, -1))
	for _, tc := range []struct {
		name  string
		index int
		ok    bool
	}{
		{"CPU_group_2_00000000000000ab", 2, true},
		{"my_res_group_00000000000000ab", -1, true},
		{"CPU", 0, false},
		{"CPU_group_x_00000000000000ab", 0, false},
		{"CPU_group_02_00000000000000ab", 0, false},
		{"CPU_group_00000000000000a", 0, false},
		{"_group_00000000000000ab", 0, false},
	} {
		got, index, ok := transport.ParseBundleResource(tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
		if ok {
			assert.Equal(t, g, got, tc.name)
			assert.Equal(t, tc.index, index, tc.name)
		}
	}
}

// TestInBundleFitsItsBundleOnly: a task asking for a bundle's resources
// fits the bundle, one asking for more does not, and the group-wide name
// keeps tasks of any bundle and of one bundle from taking one CPU twice.
func TestInBundleFitsItsBundleOnly(t *testing.T) {
	g := transport.GroupID(7)
	b0 := transport.BundleResources(g, 0, transport.MakeResources(2, 0, map[string]float64{"disk": 1}))
	b1 := transport.BundleResources(g, 1, transport.MakeResources(1, 0, nil))
	node := b0.Add(b1)
	one := transport.MakeResources(1, 0, nil)
	require.True(t, transport.InBundle(g, 0, one).Fits(node))
	require.True(t, transport.InBundle(g, -1, transport.MakeResources(3, 0, nil)).Fits(node))
	require.False(t, transport.InBundle(g, 1, transport.MakeResources(2, 0, nil)).Fits(node))
	require.False(t, transport.InBundle(g, 0, transport.MakeResources(0, 1, nil)).Fits(node), "no GPU in the bundle")
	require.False(t, transport.InBundle(g+1, 0, one).Fits(node), "another group's")
	// Any-bundle tasks took all 3 CPUs: a bundle-0 task no longer fits.
	left := node.Sub(transport.InBundle(g, -1, transport.MakeResources(3, 0, nil)))
	require.False(t, transport.InBundle(g, 0, one).Fits(left))
	got, ok := transport.GroupOf(transport.InBundle(g, 1, one))
	require.True(t, ok)
	require.Equal(t, g, got)
	_, ok = transport.GroupOf(one)
	require.False(t, ok)
	assert.Equal(t, transport.MakeResources(1, 0, nil), one.Add(node).WithoutGroups())
}
