package ray

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDigestFollowsRegistrations: Digest is cached (every node registers
// with it); a name registered after it was asked changes it all the same.
func TestDigestFollowsRegistrations(t *testing.T) {
	reg := NewRegistry()
	Register0(reg, "a", func(ctx context.Context) (int, error) { return 0, nil })
	first := reg.Digest()
	require.Equal(t, first, reg.Digest())
	Register0(reg, "b", func(ctx context.Context) (int, error) { return 0, nil })
	require.NotEqual(t, first, reg.Digest(), "a registration after Digest was asked")
	again := NewRegistry()
	Register0(again, "a", func(ctx context.Context) (int, error) { return 0, nil })
	Register0(again, "b", func(ctx context.Context) (int, error) { return 0, nil })
	require.Equal(t, again.Digest(), reg.Digest(), "the same table, the same digest")
}
