package ray_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestNewTCPRefusesSimOnly: NewTCP refuses Config.Buggify and WireCheck,
// the simulator's, as the CLI refuses --buggify and --wire-check with
// --tcp; it took them and ran without them (qaapi #13). MaxVirtual,
// which a scenario's duration limit sets for either, is still taken.
func TestNewTCPRefusesSimOnly(t *testing.T) {
	for _, cfg := range []ray.Config{
		{Nodes: withW(1), Buggify: true},
		{Nodes: withW(1), WireCheck: true},
	} {
		c, err := ray.NewTCP(context.Background(), cfg, ray.NewRegistry())
		if c != nil {
			require.NoError(t, c.Close())
		}
		require.ErrorIs(t, err, ray.ErrInvalidOption)
		require.ErrorContains(t, err, "the simulator's")
	}
	c, err := ray.NewTCP(context.Background(), ray.Config{Nodes: withW(1), MaxVirtual: time.Second}, ray.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
