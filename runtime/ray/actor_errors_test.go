package ray_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestActorErrorsOnShardedGCS runs the semantic cases of GetActor's class
// check, a failed constructor's error and a kill's on a GCS of several
// replicated shards, where an actor's name lives on another shard than the
// actor: the class and the cause of death reach the name's shard too.
func TestActorErrorsOnShardedGCS(t *testing.T) {
	want := map[string]bool{
		"get actor checks the class":                     true,
		"a failed constructor's error reaches the calls": true,
		"a call after kill says killed":                  true,
	}
	ran := 0
	for _, tc := range semanticCases {
		if !want[tc.name] {
			continue
		}
		ran++
		t.Run(tc.name, func(t *testing.T) {
			for _, shards := range []int{2, 3, 5} {
				s := newSuite()
				c, err := ray.NewSim(ray.Config{Nodes: testNodes, Seed: int64(shards), GCSShards: shards, GCSReplicas: 2, WireCheck: true}, s.reg)
				require.NoError(t, err)
				require.NoError(t, c.Run(func(ctx context.Context) error {
					tc.run(t, ctx, s)
					return nil
				}))
				c.Close()
			}
		})
	}
	require.Equal(t, len(want), ran, "a case was renamed")
}
