package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestESUnevenNodes: a CPU count that is not a multiple of the CPUs per
// node (`raysim bench --es` on TCP uses this machine's cores, e.g. 24 ->
// nodes of 16 and 8) leaves the last node smaller; the workers must still
// all be placed, one CPU each, not spread round robin past what a node has.
func TestESUnevenNodes(t *testing.T) {
	done := make(chan error, 1)
	var r ESResult
	go func() {
		var err error
		r, err = RunES(context.Background(), ESConfig{Name: "uneven", CPUs: 20, StepCost: "none", Iterations: 1, Pairs: 1})
		done <- err
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
		require.Equal(t, 2, r.Nodes)
		require.Equal(t, 20*2*200, r.Steps)
	case <-time.After(60 * time.Second):
		t.Fatal("RunES with 20 CPUs on nodes of 16 and 4 did not finish")
	}
}
