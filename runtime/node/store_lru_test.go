package node

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestRejoinKeepsLRUOrder: a rejoin looks at every copy to announce it
// again; that is no read, and must not change which copy is evicted
// first. It read them with store.Get, which touches: the LRU became the
// copies' ID order, and the next put evicted the copy read last instead of
// the one unread longest.
func TestRejoinKeepsLRUOrder(t *testing.T) {
	r, _ := boundedRaylet(t, 100)
	old, recent := transport.ObjectID{Task: 9}, transport.ObjectID{Task: 5}
	r.put(old, transport.Value{Data: []byte{1}, Size: 40}, false) // fetched copies: a cache
	r.put(recent, transport.Value{Data: []byte{2}, Size: 40}, false)
	r.rejoin()
	r.put(transport.ObjectID{Task: 11}, transport.Value{Data: []byte{3}, Size: 40}, true)
	assert.False(t, r.store.Contains(old), "the copy unread longest stayed")
	require.True(t, r.store.Contains(recent), "the copy read last was evicted")
}
