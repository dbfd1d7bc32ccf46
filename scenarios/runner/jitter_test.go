package runner

import (
	"testing"
	"time"

	"raysim/scenarios"
)

// docs/scenarios.md: `jitter` is "added per message" and may be written
// with zero latency. clusterConfig zeroes the jitter whenever latency is 0
// and bandwidth unlimited ("keep an explicit zero-latency network
// possible"), so `latency: 0, bandwidth: unlimited, jitter: 1ms` silently
// runs without jitter. Right: the written jitter is kept (the default
// jitter is 0 already, so nothing needs zeroing).
func TestZeroLatencyKeepsExplicitJitter(t *testing.T) {
	s, err := scenarios.Parse("jitter.yaml", []byte(`
name: jitter
seed: 1
duration_limit: 1s
cluster:
  nodes:
    - {name: head, cpus: 1}
  network: {latency: 0, bandwidth: unlimited, jitter: 1ms}
workload:
  - generator: parallel
    params: {tasks: 1, duration: 1ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clusterConfig(s)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Link.Jitter != time.Millisecond {
		t.Fatalf("link jitter %v; want the 1ms the scenario wrote", cfg.Link.Jitter)
	}
}
