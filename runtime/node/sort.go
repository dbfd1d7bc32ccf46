package node

import (
	"slices"

	"raysim/runtime/transport"
)

func sortedCallers(m map[transport.TaskID]map[uint64]*transport.TaskSpec) []transport.TaskID {
	ks := make([]transport.TaskID, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sortedSpecs(m map[uint64]*transport.TaskSpec) []*transport.TaskSpec {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	out := make([]*transport.TaskSpec, len(ks))
	for i, k := range ks {
		out[i] = m[k]
	}
	return out
}
