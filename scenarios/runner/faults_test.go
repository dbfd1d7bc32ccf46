package runner

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
)

// runFaults runs a small cluster (head, worker-0, worker-1) under the given
// fault schedule and hands every netsim event to on.
func runFaults(t *testing.T, faults string, on func(ev *netsim.Event)) {
	t.Helper()
	s, err := scenarios.Parse("faults.yaml", []byte(`
name: faults
seed: 1
duration_limit: 2s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: worker, count: 2, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 400, duration: 5ms}
    arrival: {kind: rate, rate: 400/s}
faults:
`+faults))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), s, Options{OnNetEvent: on}); err != nil {
		t.Fatal(err)
	}
}

// isGCS reports whether id is a GCS replica (not a raylet or the scheduler).
func isGCS(id netsim.NodeID) bool { return id > netsim.NodeID(ray.SchedulerID) }

// A partition's `for` ends that partition alone: worker-1's partition from
// the GCS, made while worker-0's held, lasts until its own end (650ms), not
// until the end of worker-0's (200ms).
func TestPartitionForHealsOnlyItsOwn(t *testing.T) {
	worker1 := netsim.NodeID(ray.RayletID(2))
	var heals []time.Duration
	var first, last time.Duration = -1, -1 // partition drops between worker-1 and the GCS
	runFaults(t, `
  - {at: 100ms, partition: [[gcs], [worker-0]], for: 100ms}
  - {at: 150ms, partition: [[gcs], [worker-1]], for: 500ms}
`, func(ev *netsim.Event) {
		switch {
		case ev.Kind == netsim.EvHeal:
			heals = append(heals, ev.At)
		case ev.Kind == netsim.EvDrop && ev.Detail == netsim.DropPartition &&
			(ev.From == worker1 && isGCS(ev.To) || ev.To == worker1 && isGCS(ev.From)):
			if first < 0 {
				first = ev.At
			}
			last = ev.At
		}
	})
	if len(heals) != 2 || heals[0] != 200*time.Millisecond || heals[1] != 650*time.Millisecond {
		t.Errorf("heals at %v; want 200ms and 650ms", heals)
	}
	if first < 150*time.Millisecond || last < 400*time.Millisecond || last >= 650*time.Millisecond {
		t.Errorf("worker-1/GCS partition drops from %v to %v; want them within [150ms, 650ms), lasting past 400ms", first, last)
	}
}

// A degrade_link's `for` restores the link only if its degradation is still
// the link's: worker-1 -> GCS degraded at 100ms for 100ms, then again at
// 150ms for 800ms, stays degraded until 950ms.
func TestDegradeForRestoresOnlyItsOwn(t *testing.T) {
	worker1 := netsim.NodeID(ray.RayletID(2))
	var degrades, restores []time.Duration
	runFaults(t, `
  - {at: 100ms, degrade_link: {from: worker-1, to: gcs, latency: 50ms}, for: 100ms}
  - {at: 150ms, degrade_link: {from: worker-1, to: gcs, latency: 20ms}, for: 800ms}
`, func(ev *netsim.Event) {
		if ev.Kind != netsim.EvDegrade || ev.From != worker1 || !isGCS(ev.To) {
			return
		}
		if ev.Detail == "restore" {
			restores = append(restores, ev.At)
		} else {
			degrades = append(degrades, ev.At)
		}
	})
	if len(degrades) == 0 || len(restores) != len(degrades)/2 {
		t.Fatalf("degrades at %v, restores at %v; want one restore per link of the second degrade", degrades, restores)
	}
	for _, at := range restores {
		if at != 950*time.Millisecond {
			t.Errorf("worker-1 -> GCS restored at %v; want only at 950ms (the end of the degrade made at 150ms)", at)
		}
	}
}

// TestLinkOwnersUndoOnlyTheirOwn: on a live cluster a fault's `for` clears
// only the links no later fault took over (it cleared all of its links,
// ending a later partition or degrade of the same link early), and a heal
// leaves nothing to clear.
func TestLinkOwnersUndoOnlyTheirOwn(t *testing.T) {
	var o linkOwners
	first := []*transport.LinkFault{{From: []string{"a"}, To: []string{"b", "c"}, Down: true}}
	second := []*transport.LinkFault{{From: []string{"a"}, To: []string{"c"}, Delay: time.Millisecond}}
	id1 := o.take(first)
	id2 := o.take(second)
	got := o.release(id1, first)
	require.Len(t, got, 1, "a -> c is the second fault's now")
	assert.Equal(t, []string{"a"}, got[0].From)
	assert.Equal(t, []string{"b"}, got[0].To)
	assert.False(t, got[0].Down, "a clearing fault")
	assert.Len(t, o.release(id2, second), 1)
	assert.Empty(t, o.release(id1, first), "released already")
	id3 := o.take(first)
	o.reset()
	assert.Empty(t, o.release(id3, first), "a heal cleared them")
}
