package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestChunkBytesBounded: a ChunkBytes whose chunks would not fit one TCP
// frame (above transport.MaxChunkBytes), or a negative one, is refused by
// Validate with an error naming the limit, and New clamps it into range
// rather than run a node whose every large pull is dropped by its sender
// (review29 finding 2). A chunk size within the limit is kept.
func TestChunkBytesBounded(t *testing.T) {
	for _, c := range []struct {
		chunk, want int64
		ok          bool
	}{
		{0, 1 << 20, true},
		{64, 64, true},
		{transport.MaxChunkBytes, transport.MaxChunkBytes, true},
		{transport.MaxChunkBytes + 1, transport.MaxChunkBytes, false},
		{64 << 20, transport.MaxChunkBytes, false},
		{-5, 1 << 20, false},
	} {
		cfg := Config{ChunkBytes: c.chunk}
		err := cfg.Validate()
		if c.ok {
			require.NoError(t, err, "chunk %d", c.chunk)
		} else {
			require.True(t, errors.Is(err, ErrChunkBytes), "chunk %d: %v", c.chunk, err)
			require.True(t, strings.Contains(err.Error(), "transport.MaxChunkBytes"), "the error names the limit: %v", err)
		}
		r, _ := hostileRaylet(t, c.chunk)
		require.Equal(t, c.want, r.cfg.ChunkBytes, "chunk %d", c.chunk)
	}
}
