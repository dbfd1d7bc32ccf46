package ray

import (
	"sync"

	"raysim/runtime/transport"
)

// dupObjectID reports an object ID that appears twice in ids (the first
// repeat found), for Wait's refusal of duplicate refs (ErrBadWait, as
// Ray's wait). It is on Wait's path, which a loop of Wait(rest, 1) calls
// once per ref over lists of up to thousands: a map filled per call made
// Ray's single_client_wait_1k_refs ~2.7x slower (qa29 #4), so short lists
// are compared pairwise and longer ones go through an open-addressing
// table of indices reused across calls, with no allocation.
func dupObjectID(ids []transport.ObjectID) (transport.ObjectID, bool) {
	const pairwise = 16
	if len(ids) <= pairwise {
		for i := 1; i < len(ids); i++ {
			for j := 0; j < i; j++ {
				if ids[i] == ids[j] {
					return ids[i], true
				}
			}
		}
		return transport.ObjectID{}, false
	}
	bits := 1
	for 1<<bits < 2*len(ids) {
		bits++
	}
	tp := dupTables.Get().(*[]int32)
	defer dupTables.Put(tp)
	if cap(*tp) < 1<<bits {
		*tp = make([]int32, 1<<bits)
	}
	table := (*tp)[:1<<bits]
	clear(table) // 0: empty; i+1: ids[i]
	mask := uint64(len(table) - 1)
	for i, id := range ids {
		h := idHash(id) >> (64 - bits)
		for {
			k := table[h]
			if k == 0 {
				table[h] = int32(i + 1)
				break
			}
			if ids[k-1] == id {
				return id, true
			}
			h = (h + 1) & mask
		}
	}
	return transport.ObjectID{}, false
}

// dupTables holds dupObjectID's tables (*[]int32) for reuse.
var dupTables = sync.Pool{New: func() any { return new([]int32) }}

// idHash spreads an object ID over 64 bits (Fibonacci hashing: the high
// bits are used). Sibling tasks' IDs differ in their low bits only.
func idHash(id transport.ObjectID) uint64 {
	x := uint64(id.Task) ^ uint64(id.Index)<<32 ^ uint64(id.Index)
	if id.Put {
		x = ^x
	}
	x ^= x >> 29
	return x * 0x9e3779b97f4a7c15
}
