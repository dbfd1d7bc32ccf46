package node

import (
	"cmp"
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

// sortedKeysWhere returns, in order, the keys of m whose entries keep
// takes: the order in which what is done for them shows (messages sent,
// events), which a map's own order, random, must not decide.
func sortedKeysWhere[K cmp.Ordered, V any](m map[K]V, keep func(K, V) bool) []K {
	var ks []K
	for k, v := range m {
		if keep(k, v) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}
