package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An empty expect.latency or expect.throughput checked nothing, silently:
// an expectation must name a bound. Leaving it out, or null, checks none.
func TestEmptyExpectationRefused(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"expect.latency={}", "--set expect.latency={}: expect.latency: at least one bound: p50, p90, p99 or max (leave latency out, or null, to check none) (got an empty mapping)"},
		{"expect.throughput={}", "--set expect.throughput={}: expect.throughput: a bound: min (leave throughput out, or null, to check none) (got an empty mapping)"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want)
	}
	_, err := Parse("t.yaml", []byte(edgeBase+"expect:\n  latency: {}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:9:12: expect.latency: at least one bound")
	for _, set := range []string{"expect.latency=null", "expect.latency={p99: 1s}", "expect.throughput={min: 10/s}", "expect.throughput=null"} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{set})
		assert.NoError(t, err, set)
	}
}

// A positive duration or size below the unit (durations are whole
// nanoseconds, sizes whole bytes) was read as 0, silently: none.
func TestSubUnitValuesRefused(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"workload.0.params.duration=0.5ns", "workload.0.params.duration: a whole number of nanoseconds: a duration of 0 or at least 1ns (got \"0.5ns\")"},
		{"workload.0.params.output_size=0.3B", "workload.0.params.output_size: a whole number of bytes: a size of 0 or at least 1B (got \"0.3B\")"},
		{"workload.0.params.output_size={dist: uniform, min: 0.0001KiB, max: 1KiB}", "workload.0.params.output_size.min: a whole number of bytes"},
		{"faults=[{at: 0.1ns, kill_node: node-0}]", "faults.0.at: a whole number of nanoseconds"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want, tc.set)
	}
	for _, in := range []string{"0.5ns", "-0.5ns", "0.0004us", "0h0.9ns"} {
		_, err := ParseDuration(in)
		assert.Error(t, err, in)
	}
	for _, in := range []string{"0ns", "0.0s", "1.5ns", "0.001us"} {
		_, err := ParseDuration(in)
		assert.NoError(t, err, in)
	}
	for _, in := range []string{"0.3B", "0.0001KiB"} {
		_, err := ParseSize(in)
		assert.Error(t, err, in)
	}
	for _, in := range []string{"0B", "0.0KiB", "0.5B", "1.5MiB"} {
		_, err := ParseSize(in)
		assert.NoError(t, err, in)
	}
}

// A negative `for` or rate said "a non-negative duration/rate" and a zero
// one "a positive duration/rate" (QA): both want a positive value, and say
// so.
func TestPositiveSaysPositive(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"faults=[{at: 1ms, pause_node: node-0, for: -5ms}]", "faults.0.for: a positive duration (got \"-5ms\")"},
		{"faults=[{at: 1ms, pause_node: node-0, for: 0}]", "faults.0.for: a positive duration (got 0)"},
		{"expect.throughput={min: -5}", "expect.throughput.min: a positive rate"},
		{"expect.throughput={min: 0}", "expect.throughput.min: a positive rate"},
	} {
		_, err := ParseWithOverrides("t.yaml", []byte(edgeBase), []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Contains(t, err.Error(), tc.want, tc.set)
	}
}

// A count over the node limit with the nodes before it said "(got
// 1000000)" for a limit of 1000000 (QA): the total is what is over.
func TestNodeLimitSaysTheTotal(t *testing.T) {
	_, err := ParseWithOverrides("t.yaml", []byte("duration_limit: 5s\ncluster:\n  nodes:\n    - {name: head, cpus: 1}\n    - {name: w, count: 1000000, cpus: 1}\nworkload:\n  - {generator: parallel, params: {tasks: 1}}\n"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "(got 1000000: 1000001 in all, with the node before)")
}
