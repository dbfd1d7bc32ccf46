package runner

import (
	"context"
	"testing"
	"time"

	"raysim/runtime/transport"
	"raysim/scenarios"
)

// TestTCPClockStartsWithTheCluster: RunTCP's clock started before the
// loopback cluster did, so start-up (listening, dialling, every node
// registering) counted as the workload's time: the first submission came
// milliseconds in, and the makespan the fidelity check compares with the
// simulator's carried it (2-3%). The clock now starts once the cluster is
// up: start-up's events are at 0, and a submission comes right away.
func TestTCPClockStartsWithTheCluster(t *testing.T) {
	s, err := scenarios.Parse("tcp-clock.yaml", []byte(`
name: tcp-clock
cluster:
  nodes: [{name: head, cpus: 2}, {name: w, count: 7, cpus: 2}]
workload:
  - {name: p, generator: parallel, params: {tasks: 20, duration: 0}, arrival: burst}
`))
	if err != nil {
		t.Fatal(err)
	}
	var first, startup time.Duration = -1, 0
	o := Options{OnEvent: func(at time.Duration, ev *transport.Event) {
		if ev.Kind == transport.EvTaskSubmitted && first < 0 {
			first = at
		}
		if first < 0 {
			startup = max(startup, at)
		}
	}}
	r, err := RunTCP(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Fatalf("run failed: %+v", r.Expectations)
	}
	// Not a timing assertion: events before the first submission are the
	// cluster's start-up, which the clock no longer counts at all.
	if startup != 0 {
		t.Errorf("start-up's events reach %v on the run's clock; want 0 (the clock starts once the cluster is up)", startup)
	}
	if first < 0 {
		t.Fatal("no submission seen")
	}
}
