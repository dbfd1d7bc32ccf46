package workload_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

// TestFailedResultDoesNotSerializeReads: once one result is an error, the
// drivers must still read the rest together (QA32 #10). fault-task-errors
// loses some 450 results with worker-1's crash either way; with
// retry_exceptions no result is an error, and the driver's Get of the
// whole list rebuilds the lost ones side by side (0.85s virtual). Without
// it some results are the injected error, and the driver used to read
// every ref one at a time after the first error, rebuilding each lost
// result only when its loop reached it: 4.06s virtual, though every task
// had first ended by 0.74s. The two runs must end about together.
func TestFailedResultDoesNotSerializeReads(t *testing.T) {
	retried := run(t, "fault-task-errors.yaml", nil, nil)
	failed := run(t, "fault-task-errors.yaml", []string{"workload.0.retry_exceptions=false"}, nil)
	require.Positive(t, failed.Workloads[0].Errors, "the variant's injected errors must reach the driver")
	require.Positive(t, failed.ObjectsReconstructed, "the variant must lose results to rebuild")
	assert.Less(t, failed.VirtualSeconds, 1.25*retried.VirtualSeconds,
		"with task errors the run ends at %.3fs, with retries at %.3fs: the reads after an error are serialized", failed.VirtualSeconds, retried.VirtualSeconds)
}

// TestRereadsSubmittedTogether: the second reads of cancelled refs (and of
// results failed for good) go out together, not one after another's
// answer (QA32 #10: cancel.yaml's rereads, each awaited before the next,
// filled the last 37% of its run). One parallel driver cancels every
// second of its 200 tasks: its last 100 submissions are the rereads, which
// must all be submitted at one virtual instant.
func TestRereadsSubmittedTogether(t *testing.T) {
	for _, gen := range []string{"parallel", "nested"} {
		t.Run(gen, func(t *testing.T) {
			params := "{tasks: 200, duration: 2ms, cancel_every: 2}"
			rereads := 100
			if gen == "nested" {
				params = "{roots: 20, depth: 1, fanout: 2, duration: 2ms, cancel_every: 2}"
				rereads = 10
			}
			s, err := scenarios.Parse("rereads.yaml", []byte(`
name: rereads
seed: 1
duration_limit: 10s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - generator: `+gen+`
    params: `+params+`
faults:
  - {at: 5ms, kill_node: worker-0}
`))
			require.NoError(t, err)
			var driver transport.TaskID // the parent of the first submission
			var at []time.Duration      // the driver's submissions' times, in order
			_, err = runner.Run(context.Background(), s, runner.Options{OnEvent: func(now time.Duration, ev *transport.Event) {
				if ev.Kind != transport.EvTaskSubmitted {
					return
				}
				if len(at) == 0 {
					driver = ev.Object.Task
				}
				if ev.Object.Task == driver {
					at = append(at, now)
				}
			}})
			require.NoError(t, err)
			require.Greater(t, len(at), rereads)
			last := at[len(at)-rereads:]
			assert.Equal(t, last[0], last[len(last)-1], "the %d rereads were submitted from %v to %v, one after another", rereads, last[0], last[len(last)-1])
		})
	}
}
