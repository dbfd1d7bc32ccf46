package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/scenarios"
)

// TestNodesJoinLater: a node group with a start joins the cluster then (a
// machine booting, as an autoscaler's would): tasks that need its GPUs
// wait for it and none runs before it; the drivers run on the nodes up at
// the start (drivers: per-node counts those); a fault on a node that has
// not joined yet does nothing, said in a warning; the same digest twice;
// the key encodes back.
func TestNodesJoinLater(t *testing.T) {
	const yaml = `
name: late
seed: 1
duration_limit: 20s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: gpu, count: 2, cpus: 4, gpus: 1, start: 1s}
workload:
  - generator: parallel
    params: {tasks: 40, duration: 50ms}
    resources: {GPU: 1}
    drivers: per-node
faults:
  - {at: 500ms, kill_node: gpu-1}
  - {at: 2s, kill_node: gpu-1}
  - {at: 2500ms, restart_node: gpu-1}
expect:
  all_complete: true
  results_correct: true
`
	s, err := scenarios.Parse("late.yaml", []byte(yaml))
	require.NoError(t, err)
	require.Equal(t, time.Second, s.Cluster.Nodes[2].Start)
	var digests []string
	for range 2 {
		var first time.Duration = -1
		drivers := map[transport.NodeID]bool{}
		r, err := Run(context.Background(), s, Options{OnEvent: func(at time.Duration, ev *transport.Event) {
			switch {
			case ev.Kind == transport.EvTaskRunning && ev.Detail == "parallel" && first < 0:
				first = at
			case ev.Kind == transport.EvTaskSubmitted && ev.Detail == "parallel":
				drivers[ev.Node] = true
			}
		}})
		require.NoError(t, err)
		assert.True(t, r.OK, "%+v", r.Expectations)
		assert.GreaterOrEqual(t, first, time.Second, "no GPU task ran before the GPU nodes joined")
		assert.Len(t, drivers, 1, "per-node: the one node up at the start")
		assert.Contains(t, r.Warnings, "kill_node at 500ms: node gpu-1 is not up yet (its group's start, or its autoscaler has not launched it); nothing to do")
		digests = append(digests, r.Digest)
	}
	assert.Equal(t, digests[0], digests[1])
	out, err := s.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(out), "start: 1s")
}

// TestAutoscalerGrowsAndShrinks: a pool of GPU nodes (autoscale) behind a
// head without GPUs: the autoscaler launches nodes for the infeasible
// burst (none runs before the first joins, boot after the launch), the
// burst spreads over the launched nodes (the scheduler does not pile the
// held tasks onto the first to register: before, all 12 went to one),
// idle nodes are terminated, a second burst launches again (no third
// launch for nodes started but not registered yet); every result right, the same digest twice.
func TestAutoscalerGrowsAndShrinks(t *testing.T) {
	const yaml = `
name: auto
seed: 1
duration_limit: 2m
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: gpu, count: 3, cpus: 2, gpus: 1, autoscale: {boot: 2s, idle_timeout: 5s}}
workload:
  - generator: parallel
    params: {tasks: 12, duration: 1s, free: true}
    resources: {CPU: 1, GPU: 1}
  - generator: parallel
    params: {tasks: 2, duration: 1s, free: true}
    resources: {CPU: 1, GPU: 1}
    start: 40s
expect:
  all_complete: true
  results_correct: true
`
	s, err := scenarios.Parse("auto.yaml", []byte(yaml))
	require.NoError(t, err)
	var digests []string
	for range 2 {
		var launches, terminations []time.Duration
		first := time.Duration(-1)
		nodes := map[transport.NodeID]bool{}
		r, err := Run(context.Background(), s, Options{
			OnNetEvent: autoscalerDecisions(&launches, &terminations),
			OnEvent: func(at time.Duration, ev *transport.Event) {
				if ev.Kind == transport.EvTaskRunning && ev.Detail == "parallel" && at < 30*time.Second {
					nodes[ev.Node] = true
					if first < 0 {
						first = at
					}
				}
			}})
		require.NoError(t, err)
		assert.True(t, r.OK, "%+v", r.Expectations)
		require.Len(t, launches, 3+2, "3 for the burst, then 2 for the second")
		assert.Equal(t, time.Second, launches[0], "the first round")
		assert.GreaterOrEqual(t, first, launches[0]+2*time.Second, "nothing ran before a node booted")
		assert.Len(t, nodes, 3, "the burst spread over the 3 launched nodes")
		assert.Len(t, terminations, 3, "the burst's nodes went once idle (the run ends with the second burst)")
		assert.Greater(t, launches[3], terminations[2], "the second burst launched after the first's nodes were gone")
		digests = append(digests, r.Digest)
	}
	assert.Equal(t, digests[0], digests[1])
	out, err := s.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(out), "autoscale:")

	// Results kept (no free): the burst's nodes hold their primary copies,
	// are not idle, and serve the second burst without a launch.
	kept, err := scenarios.ParseWithOverrides("auto.yaml", []byte(yaml), []string{"workload.0.params.free=false", "workload.1.params.free=false"})
	require.NoError(t, err)
	var decisions []string
	r, err := Run(context.Background(), kept, Options{OnNetEvent: func(ev *netsim.Event) {
		if ev.Kind == netsim.EvCustom && strings.HasPrefix(ev.Detail, "autoscaler ") {
			decisions = append(decisions, ev.Detail)
		}
	}})
	require.NoError(t, err)
	assert.True(t, r.OK, "%+v", r.Expectations)
	assert.Len(t, decisions, 3, "3 launches, no termination: %v", decisions)
}

// TestHoldsBundle: a node whose resources include a placement group's
// bundle is in use for the autoscaler, whether the group's tasks run or
// not (its bundle resources are all free when none does).
func TestHoldsBundle(t *testing.T) {
	plain := transport.MakeResources(4, 1, map[string]float64{"accel": 1})
	assert.False(t, holdsBundle(plain))
	g := transport.GroupID(9)
	withBundle := plain.Add(transport.BundleResources(g, 0, transport.Resources{CPU: transport.Units(1)}))
	assert.True(t, holdsBundle(withBundle))
}

// TestAutoscalerLaunchesForBacklog: a burst queued on the only node up (a
// 2-CPU head keeps the 200 tasks it can run) is demand: the autoscaler
// launches the pool's nodes in its first round, the head's raylet
// re-spills its backlog onto them once they register, and the burst ends
// well before the 10s the head alone takes (before: no launch, 10s). No
// flapping: nothing is launched again, and each launched node is
// terminated once, idle after the burst; a later burst the head can run
// at once launches nothing. Every result right, the same digest twice.
func TestAutoscalerLaunchesForBacklog(t *testing.T) {
	const yaml = `
name: backlog
seed: 1
duration_limit: 1m
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: pool, count: 4, cpus: 4, autoscale: {min: 0, boot: 1s, idle_timeout: 5s}}
workload:
  - generator: parallel
    params: {tasks: 200, duration: 100ms, free: true}
  - generator: parallel
    params: {tasks: 2, duration: 100ms, free: true}
    start: 20s
expect:
  all_complete: true
  results_correct: true
`
	s, err := scenarios.Parse("backlog.yaml", []byte(yaml))
	require.NoError(t, err)
	var digests []string
	for range 2 {
		var launches, terminations []time.Duration
		var lastBurst time.Duration
		ranOn := map[transport.NodeID]int{}
		r, err := Run(context.Background(), s, Options{
			OnNetEvent: autoscalerDecisions(&launches, &terminations),
			OnEvent: func(at time.Duration, ev *transport.Event) {
				if ev.Kind == transport.EvTaskFinished && at < 15*time.Second {
					lastBurst = max(lastBurst, at)
				}
				if ev.Kind == transport.EvTaskRunning && ev.Detail == "parallel" && at < 15*time.Second {
					ranOn[ev.Node]++
				}
			}})
		require.NoError(t, err)
		assert.True(t, r.OK, "%+v", r.Expectations)
		require.Len(t, launches, 4, "the pool's 4 nodes, once each")
		for _, at := range launches {
			assert.Equal(t, time.Second, at, "all in the first round")
		}
		assert.Less(t, lastBurst, 5*time.Second, "the burst ends well before the head alone would (10s)")
		assert.Len(t, ranOn, 5, "the head and the 4 launched nodes ran the burst: %v", ranOn)
		assert.Len(t, terminations, 4, "each launched node terminated once, idle after the burst")
		digests = append(digests, r.Digest)
	}
	assert.Equal(t, digests[0], digests[1])
}

// TestAutoscalerLaunchesForDefaultActors: a default actor needs a CPU to
// be placed (as Ray's), so on a head without CPUs it is infeasible until
// the autoscaler, counting that CPU as demand, launches a node of the pool
// that has CPUs (counted as asking for nothing, it launched the first
// pool, of no CPU, for good); it then runs there, not on the head (where
// it ran at once before).
func TestAutoscalerLaunchesForDefaultActors(t *testing.T) {
	const yaml = `
name: actors
seed: 1
duration_limit: 1m
cluster:
  nodes:
    - {name: learner, cpus: 0, gpus: 1}
    - {name: gpus, count: 1, cpus: 0, gpus: 1, autoscale: {min: 0, boot: 2s}}
    - {name: pool, count: 2, cpus: 4, autoscale: {min: 0, boot: 2s}}
workload:
  - generator: rl
    params: {actors: 4, rounds: 3}
    resources: {CPU: 0, GPU: 1}
expect:
  all_complete: true
  results_correct: true
`
	s, err := scenarios.Parse("actors.yaml", []byte(yaml))
	require.NoError(t, err)
	launches := 0
	created := map[transport.NodeID]int{}
	r, err := Run(context.Background(), s, Options{
		OnNetEvent: func(ev *netsim.Event) {
			if ev.Kind == netsim.EvCustom && strings.Contains(ev.Detail, ": launch") {
				launches++
			}
		},
		OnEvent: func(_ time.Duration, ev *transport.Event) {
			if ev.Kind == transport.EvActorCreated {
				created[ev.Node]++
			}
		},
	})
	require.NoError(t, err)
	require.True(t, r.OK, "%+v", r.Expectations)
	assert.Positive(t, launches, "a node launched for the actors")
	// Node IDs: the learner 1, the gpus node 2, the pool's nodes 3 and 4.
	assert.Zero(t, created[1], "no actor on the head without CPUs: %v", created)
	assert.Equal(t, 4, created[3]+created[4], "on the launched nodes with CPUs: %v", created)
}

// autoscalerDecisions collects the times of the autoscaler's launches and
// terminations from the simulator's events.
func autoscalerDecisions(launches, terminations *[]time.Duration) func(*netsim.Event) {
	return func(ev *netsim.Event) {
		if ev.Kind == netsim.EvCustom && strings.HasPrefix(ev.Detail, "autoscaler ") {
			if strings.Contains(ev.Detail, ": launch") {
				*launches = append(*launches, ev.At)
			} else {
				*terminations = append(*terminations, ev.At)
			}
		}
	}
}
