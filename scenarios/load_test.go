package scenarios

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/scheduler"
)

// fixtures are the valid scenario files: the shipped ones and testdata/
// (except bad*.yaml).
func fixtures(t *testing.T) []string {
	shipped, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	test, err := filepath.Glob("testdata/*.yaml")
	require.NoError(t, err)
	var out []string
	for _, f := range append(shipped, test...) {
		if !strings.HasPrefix(filepath.Base(f), "bad") {
			out = append(out, f)
		}
	}
	require.NotEmpty(t, out)
	return out
}

func TestLoadEveryFixture(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f)
			require.NoError(t, err)
			require.NotEmpty(t, s.Cluster.Nodes)
			require.NotEmpty(t, s.Workload)
			for i, n := range s.Cluster.Nodes {
				j, ok := s.NodeIndex(n.Name)
				require.True(t, ok)
				require.Equal(t, i, j)
			}
			for i := 1; i < len(s.Faults); i++ {
				require.LessOrEqual(t, s.Faults[i-1].At, s.Faults[i].At, "faults sorted")
			}
		})
	}
}

func TestQuickstart(t *testing.T) {
	s, err := Load("quickstart.yaml")
	require.NoError(t, err)
	var names []string
	for _, n := range s.Cluster.Nodes {
		names = append(names, n.Name)
	}
	assert.Equal(t, []string{"head", "worker-0", "worker-1", "worker-2"}, names)
	assert.Equal(t, int64(42), s.Seed)
	require.Len(t, s.Workload, 3)
	p := s.Workload[0].Params.(*ParallelParams)
	assert.Equal(t, 2000, p.Tasks)
	assert.Equal(t, LogNormal, p.Duration.Kind)
	assert.Equal(t, 5*time.Millisecond, p.Duration.MeanDuration())
	assert.Equal(t, Arrival{Kind: Poisson, Rate: 10000}, s.Workload[0].Arrival)
	assert.Equal(t, 3, s.Workload[1].Params.(*RLParams).Actors)
	assert.Equal(t, 4, s.Workload[2].Params.(*TreeReduceParams).Fanin)
	require.Len(t, s.Faults, 2)
	f := s.Faults[0]
	assert.Positive(t, f.Line, "the fault remembers its line")
	assert.Equal(t, 1, f.Pos, "the fault remembers its position in the file, from 1")
	f.Line, f.Pos = 0, 0
	assert.Equal(t, Fault{At: 300 * time.Millisecond, Kind: KillNode, Node: "worker-1", ActorIndex: -1}, f)
	assert.Equal(t, RestartNode, s.Faults[1].Kind)
	assert.True(t, s.Expect.AllComplete && s.Expect.ResultsCorrect && s.Expect.NoLostObjects)
	assert.Equal(t, 5*time.Second, s.Expect.FinishBy)
}

func TestFull(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	require.NoError(t, err)
	c := s.Cluster
	assert.Len(t, c.Groups, 4)
	require.Len(t, c.Nodes, 6) // head, cpu-0..2, gpu-0..1; spare has count 0
	assert.Equal(t, NodeSpec{Name: "cpu-1", Group: "cpu", CPUs: 8, ObjectStoreBytes: 512e6}, c.Nodes[2])
	assert.Equal(t, map[string]float64{"accel": 2}, c.Nodes[4].Resources)
	assert.Equal(t, Uniform, c.Network.Latency.Kind)
	assert.Equal(t, 20*time.Microsecond, c.Network.Jitter.MeanDuration())
	assert.Equal(t, 25e9/8, c.Network.Bandwidth)
	assert.InDelta(t, 0.001, c.Network.Loss, 1e-15)
	require.Len(t, c.Network.Links, 2)
	assert.Equal(t, []string{"gpu-0", "gpu-1"}, c.Network.Links[0].ToNodes)
	assert.Equal(t, 1e8, *c.Network.Links[0].Bandwidth)
	assert.False(t, c.Network.Links[1].Symmetric)
	assert.Equal(t, GCSConfig{Shards: 4, Replicas: 3}, c.GCS)
	assert.Equal(t, SchedulerConfig{Policy: "locality-aware", SpillThreshold: 16}, c.Scheduler)
	assert.Equal(t, "zero", c.Costs.Profile)
	assert.Equal(t, filepath.Join("testdata", "profiles", "fast.yaml"), c.Costs.Path)
	assert.Equal(t, map[string]time.Duration{"dispatch": 2 * time.Microsecond, "message": 500, "gcs_write": 10 * time.Microsecond}, c.Costs.Overrides)

	w := s.Workload
	require.Len(t, w, 7)
	assert.Equal(t, 10000, w[0].Params.(*ParallelParams).Tasks)
	assert.Equal(t, Drivers{PerNode: true}, w[0].Drivers)
	assert.Equal(t, 6, w[0].Drivers.N(len(c.Nodes)))
	assert.Equal(t, 1e4, w[0].Arrival.Rate)
	assert.Equal(t, 0, w[0].MaxRetries)
	assert.Equal(t, "tree-reduce-1", w[1].Name)
	assert.Equal(t, 1500*time.Millisecond, w[1].Start)
	assert.Equal(t, SizeDist{Dist{Kind: Uniform, Min: 1024, Max: 1 << 20}}, w[0].Params.(*ParallelParams).OutputSize)
	assert.Equal(t, map[string]float64{"GPU": 0.5, "accel": 1}, w[5].Resources)
	assert.Equal(t, &ParameterServerParams{Servers: 2, Workers: 6, Iterations: 3, ShardSize: FixedSize(2 << 20), Duration: FixedDuration(time.Millisecond)}, w[6].Params)

	var kinds []string
	for _, f := range s.Faults {
		kinds = append(kinds, f.Kind)
	}
	// Sorted stably by time; random processes sort by their from.
	assert.Equal(t, []string{Random, Random, KillNode, Random, RestartNode, Partition, DegradeLink, PauseNode, SkewClock, KillGCSReplica, Heal, KillActor, KillActor, Random}, kinds)
	assert.Equal(t, [][]string{{"head", "cpu-0"}, {"gpu-0", "gpu-1"}}, s.Faults[5].Groups)
	assert.Equal(t, 200*time.Millisecond, s.Faults[5].For)
	assert.Equal(t, []string{"cpu-0", "cpu-1", "cpu-2"}, s.Faults[6].Link.FromNodes)
	assert.Equal(t, 0.05, *s.Faults[6].Link.Loss)
	assert.Equal(t, -50*time.Millisecond, s.Faults[8].Offset)
	assert.Equal(t, 11, s.Faults[9].Replica)
	assert.Equal(t, 0, s.Faults[11].ActorIndex)
	assert.Equal(t, "learner", s.Faults[12].Actor)
	assert.Equal(t, -1, s.Faults[12].ActorIndex)
	assert.Equal(t, &RandomFaults{Kind: RandomCrash, Rate: 0.5, From: time.Second, Until: 10 * time.Second,
		RestartAfter: 200 * time.Millisecond, For: 200 * time.Millisecond, Loss: 0.5, Nodes: []string{"cpu-0", "cpu-1", "cpu-2"}}, s.Faults[3].Random)
	assert.Equal(t, 2*time.Minute, s.Faults[13].Random.Until, "until defaults to duration_limit")
	assert.Equal(t, 0, *s.Expect.MaxFailedTasks)
	assert.Equal(t, LatencyBounds{P50: 10 * time.Millisecond, P90: 50 * time.Millisecond, P99: 200 * time.Millisecond, Max: time.Second}, s.Expect.Latency)
	assert.Equal(t, 1000.0, s.Expect.Throughput.Min)
}

func TestDefaults(t *testing.T) {
	s, err := Load("testdata/minimal.yaml")
	require.NoError(t, err)
	assert.Equal(t, "minimal", s.Name)
	assert.Equal(t, int64(DefaultSeed), s.Seed)
	assert.Equal(t, DefaultDurationLimit, s.DurationLimit)
	assert.Equal(t, []NodeSpec{{Name: "node", Group: "node", CPUs: 1, ObjectStoreBytes: DefaultObjectStoreBytes}}, s.Cluster.Nodes)
	assert.Equal(t, FixedDuration(DefaultLatency), s.Cluster.Network.Latency)
	assert.Equal(t, float64(DefaultBandwidth), s.Cluster.Network.Bandwidth)
	assert.Equal(t, GCSConfig{Shards: 1, Replicas: 1}, s.Cluster.GCS)
	assert.Equal(t, SchedulerConfig{Policy: DefaultPolicy, SpillThreshold: DefaultSpillThreshold}, s.Cluster.Scheduler)
	assert.Equal(t, Costs{Profile: DefaultCostProfile}, s.Cluster.Costs)
	assert.Equal(t, Workload{
		Name: "parallel-0", Generator: "parallel",
		Params:  &ParallelParams{Tasks: 1000, Duration: FixedDuration(10 * time.Millisecond), OutputSize: FixedSize(1024)},
		Arrival: Arrival{Kind: Burst}, Drivers: Drivers{Count: 1},
		Resources: map[string]float64{"CPU": 1}, MaxRetries: DefaultMaxRetries,
	}, s.Workload[0])
	assert.Empty(t, s.Faults)
	assert.Equal(t, Expect{}, s.Expect)
}

// TestAllErrorsAtOnce loads a file with many mistakes and checks that every
// one is reported, in file order, with its exact position.
func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Load("testdata/bad.yaml")
	require.Error(t, err)
	var errs Errors
	require.True(t, errors.As(err, &errs))
	want := []string{
		`testdata/bad.yaml:2:7: seed: an integer seed (got "seven")`,
		`testdata/bad.yaml:6:7: cluster.nodes.0.cpu: unknown key; expected one of name, count, cpus, gpus, resources, object_store, object_spill, start, autoscale (got "cpu")`,
		`testdata/bad.yaml:8:14: cluster.nodes.1.count: an integer >= 0 (got -2)`,
		`testdata/bad.yaml:12:21: cluster.nodes.2.object_store: a size like 512MB, 2GiB or 4096 (bytes) (got "2 gigs")`,
		`testdata/bad.yaml:14:21: cluster.network.latency.dist: one of constant, uniform, normal, lognormal, exponential (got "gaussian")`,
		`testdata/bad.yaml:15:11: cluster.network.loss: a probability in [0, 1] (or 0%..100%) (got 1.5)`,
		`testdata/bad.yaml:16:16: cluster.network.bandwidth: a bandwidth like 10Gbps, 100MB/s or unlimited (got 100)`,
		`testdata/bad.yaml:18:23: cluster.scheduler.policy: one of bottom-up, centralized, random, power-of-two, locality-aware (got "fifo")`,
		`testdata/bad.yaml:19:11: cluster.costs.gcs_reads: unknown key; expected one of profile, gcs_read, gcs_write, schedule, dispatch, object_put, object_get, object_per_mb, spill_per_mb, restore_per_mb, message, compute_overshoot, compute_overshoot_p90 (got "gcs_reads")`,
		`testdata/bad.yaml:22:25: workload.0.params.durations: unknown key; expected one of tasks, duration, output_size, free, cancel_every (got "durations")`,
		`testdata/bad.yaml:23:14: workload.0.arrival.rate: a rate like 1000/s for a poisson arrival (got nothing)`,
		`testdata/bad.yaml:24:16: workload.1.generator: one of parallel, tree-reduce, map-reduce, chain, nested, rl, parameter-server, actor-calls (got "mapreduce")`,
		`testdata/bad.yaml:26:16: workload.2.resources: a demand that at least one node can meet (got GPU: 2; no node has that much)`,
		`testdata/bad.yaml:29:16: faults.0.kill_node: a node name of the cluster (got "cpu-7")`,
		`testdata/bad.yaml:31:33: faults.1.partition.1.0: disjoint groups; node gpu-0 is already in group 0 (got "gpu-0")`,
		`testdata/bad.yaml:33:23: faults.2.kill_gcs_replica: a replica index in [0, 4) (gcs shards*replicas = 2*2) (got 4)`,
		`testdata/bad.yaml:34:5: faults.3.for: a pause length like for: 200ms (got nothing)`,
		`testdata/bad.yaml:37:16: faults.4.kill_node: one node name, like gpu-0 (a group of 2 nodes names several) (got "gpu")`,
		`testdata/bad.yaml:39:17: expect.all_complete: true or false (got "yes")`,
		`testdata/bad.yaml:40:14: expect.finish_by: a duration with a unit (ns, us, ms, s, m, h), like 10ms (got 10)`,
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	assert.Equal(t, want, got)
	assert.Equal(t, strings.Join(want, "\n"), err.Error())
	assert.Equal(t, &FieldError{File: "testdata/bad.yaml", Line: 8, Column: 14, Field: "cluster.nodes.1.count", Msg: "an integer >= 0 (got -2)"}, errs[2])
}

func TestRejects(t *testing.T) {
	const base = "cluster:\n  nodes:\n    - {name: a, count: 2}\n    - {name: b}\nworkload:\n  - generator: parallel\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"syntax", "cluster: [", "x.yaml:1:1: did not find expected node content"},
		{"empty", "", "x.yaml:1:1: cluster.nodes: a list of node groups (got nothing)\nx.yaml:1:1: workload: a list of workload entries (got nothing)"},
		{"dup node", "cluster:\n  nodes:\n    - {name: a-0}\n    - {name: a, count: 2}\nworkload: [{generator: chain}]\n",
			`x.yaml:4:14: cluster.nodes.1.name: unique node names; node "a-0" is already made by the group at line 3 (got "a")`},
		{"dup key", base + "seed: 1\nseed: 2\n", `x.yaml:8:1: seed: each key once (got "seed")`},
		{"partition one group", base + "faults: [{at: 1s, partition: [[a]]}]\n", "x.yaml:7:30: faults.0.partition: at least two groups, like [[a, b], [c]] (got 1 group)"},
		{"two actions", base + "faults: [{at: 1s, kill_node: b, heal: true}]\n", "x.yaml:7:33: faults.0.heal: one action per entry (got heal as well as kill_node)"},
		{"for on kill", base + "faults: [{at: 1s, kill_node: b, for: 1s}]\n", "x.yaml:7:33: faults.0.for: for only with partition, degrade_link, pause_node or task_errors (got for with kill_node)"},
		{"task_errors no rate", base + "faults: [{at: 1s, task_errors: {nodes: [a]}}]\n", "x.yaml:7:32: faults.0.task_errors.rate: a probability like 10% that a task's run fails (got nothing)"},
		{"task_errors zero rate", base + "faults: [{at: 1s, task_errors: {rate: 0}}]\n", `x.yaml:7:39: faults.0.task_errors.rate: a probability above 0 (leave the fault out for none) (got 0)`},
		{"task_errors rate above 1", base + "faults: [{at: 1s, task_errors: {rate: 150%}}]\n", `x.yaml:7:39: faults.0.task_errors.rate: a probability in [0, 1] (or 0%..100%) (got "150%")`},
		{"task_errors unknown node", base + "faults: [{at: 1s, task_errors: {rate: 1%, nodes: [zz]}}]\n", `x.yaml:7:51: faults.0.task_errors.nodes.0: a node or group name of the cluster (got "zz")`},
		{"group no bundles", base + "    placement_group: {strategy: PACK}\n", `x.yaml:7:22: workload.0.placement_group.bundles: a number of bundles like bundles: 4 (got nothing)`},
		{"group bad strategy", base + "    placement_group: {bundles: 2, strategy: PACKED}\n", `x.yaml:7:45: workload.0.placement_group.strategy: one of PACK, SPREAD, STRICT_PACK, STRICT_SPREAD (got "PACKED")`},
		{"group zero bundles", base + "    placement_group: {bundles: 0}\n", `x.yaml:7:32: workload.0.placement_group.bundles: an integer >= 1 (got 0)`},
		{"group too spread", base + "    placement_group: {bundles: 4, strategy: STRICT_SPREAD}\n", `x.yaml:7:22: workload.0.placement_group: a group the cluster can place: 4 bundles of the entry's resources, STRICT_SPREAD (no such placement: the group would wait for good)`},
		{"group of nothing", base + "    resources: {CPU: 0}\n    placement_group: {bundles: 1}\n", `x.yaml:8:22: workload.0.placement_group: an entry whose resources ask for something: a bundle of nothing is no bundle`},
		{"group capture not a bool", base + "    placement_group: {bundles: 1, capture_child_tasks: maybe}\n", `x.yaml:7:56: workload.0.placement_group.capture_child_tasks: true or false (got "maybe")`},
		// Two drivers, a root each, a tree of up to 1+2 tasks: 3 bundles.
		{"group capture too few bundles", "cluster:\n  nodes:\n    - {name: a, count: 2, cpus: 8}\nworkload:\n  - generator: nested\n    params: {roots: 2, depth: 2, fanout: 1}\n    drivers: 2\n    resources: {CPU: 0.5}\n    placement_group: {bundles: 2, capture_child_tasks: true}\n",
			`x.yaml:9:22: workload.0.placement_group: at least 3 bundles with capture_child_tasks: each driver's nested trees may hold up to 3 tasks at once, and a task waiting for its children keeps its bundle (as in Ray), so fewer bundles could deadlock`},
		{"group for actors", "cluster:\n  nodes:\n    - {name: a, count: 2}\n    - {name: b}\nworkload:\n  - generator: rl\n    placement_group: {bundles: 1}\n", `x.yaml:7:22: workload.0.placement_group: a placement group for a task generator's entry (rl makes actors, which would hold its bundles for good)`},
		{"threaded simulators with replay", "cluster:\n  nodes:\n    - {name: a}\nworkload:\n  - generator: rl\n    params: {replay: true, max_concurrency: 2}\n",
			`x.yaml:6:45: workload.0.params.max_concurrency: 1 beside checkpoint_every or replay: their logs assume one rollout at a time (got 2)`},
		{"first node starts late", "cluster:\n  nodes:\n    - {name: a, start: 1s}\nworkload:\n  - generator: parallel\n",
			`x.yaml:3:24: cluster.nodes.0.start: 0: the cluster's first node starts with it (the head: the first driver runs there) (got "1s")`},
		{"node starts after the limit", "duration_limit: 1s\ncluster:\n  nodes:\n    - {name: a}\n    - {name: b, start: 2s}\nworkload:\n  - generator: parallel\n",
			`x.yaml:5:24: cluster.nodes.1.start: a time within duration_limit 1s (got "2s")`},
		{"autoscale the head", "cluster:\n  nodes:\n    - {name: a, autoscale: {min: 1}}\nworkload:\n  - generator: parallel\n",
			`x.yaml:3:28: cluster.nodes.0.autoscale: no autoscale on the group of the cluster's first node (the head: the first driver runs there) (got a mapping)`},
		{"autoscale min over count", "cluster:\n  nodes:\n    - {name: a}\n    - {name: b, count: 2, autoscale: {min: 3}}\nworkload:\n  - generator: parallel\n",
			`x.yaml:4:44: cluster.nodes.1.autoscale.min: at most the group's count, 2 (got 3)`},
		{"autoscale beside start", "cluster:\n  nodes:\n    - {name: a}\n    - {name: b, start: 1s, autoscale: {}}\nworkload:\n  - generator: parallel\n",
			`x.yaml:4:39: cluster.nodes.1.autoscale: no autoscale beside start: an autoscaled group's nodes start when launched (got an empty mapping)`},
		{"map-reduce returns and stream", "cluster:\n  nodes:\n    - {name: a}\nworkload:\n  - generator: map-reduce\n    params: {returns: true, stream: true}\n",
			`x.yaml:6:37: workload.0.params.stream: false beside returns: true (a map returns its partitions or streams them, not both)`},
		{"retry_exceptions not bool", base + "    retry_exceptions: 3\n", `x.yaml:7:23: workload.0.retry_exceptions: true or false (got 3)`},
		{"fault after limit", "duration_limit: 1s\n" + base + "faults: [{at: 2s, kill_node: b}]\n", "x.yaml:8:15: faults.0.at: a time within duration_limit 1s (got \"2s\")"},
		{"uniform min>max", base + "    params: {duration: {dist: uniform, min: 2ms, max: 1ms}}\n", `x.yaml:7:55: workload.0.params.duration.max: max >= min (got "1ms")`},
		{"dist extra key", base + "    params: {duration: {dist: constant, mean: 1ms, stddev: 1ms}}\n", `x.yaml:7:52: workload.0.params.duration.stddev: a key a constant distribution uses: mean (got "stddev")`},
		{"int float", base + "    params: {tasks: 1.5}\n", "x.yaml:7:21: workload.0.params.tasks: an integer >= 0 (got 1.5)"},
		{"burst rate", base + "    arrival: {kind: burst, rate: 1/s}\n", "x.yaml:7:28: workload.0.arrival.rate: no rate for a burst arrival; expected kind: rate or poisson (got kind: burst)"},
		{"CPU in node resources", "cluster:\n  nodes: [{name: a, resources: {CPU: 2}}]\nworkload: [{generator: chain}]\n", `x.yaml:2:33: cluster.nodes.0.resources.CPU: a custom resource; set CPU and GPU with cpus and gpus (got "CPU")`},
		{"heal false", base + "faults: [{at: 1s, heal: false}]\n", "x.yaml:7:25: faults.0.heal: true (leave the entry out to not heal) (got false)"},
		{"random until", base + "faults: [{random: {kind: crash, rate: 1/s, from: 2s, until: 1s}}]\n", `x.yaml:7:61: faults.0.random.until: a time after from (got "1s")`},
		{"random for on crash", base + "faults: [{random: {kind: crash, rate: 1/s, for: 1s}}]\n", `x.yaml:7:44: faults.0.random.for: for only for kinds partition, pause and loss (got kind crash)`},
		{"unknown top-level key", base + "  \ncluster2: 1\n", `x.yaml:8:1: cluster2: unknown key; expected one of name, seed, description, duration_limit, cluster, workload, faults, expect (got "cluster2")`},
		{"finish_by limit", "duration_limit: 1s\n" + base + "expect: {finish_by: 2s}\n", `x.yaml:8:21: expect.finish_by: a time within duration_limit 1s (got "2s")`},
		{"nested explosion", base + "  - {generator: nested, params: {roots: 10, depth: 9, fanout: 10}}\n", "x.yaml:7:33: workload.1.params: at most 1e8 tasks, calls and objects in all (roots*(1+fanout+...+fanout^(depth-1)) = 1.11e+09) (got a mapping)"},
		{"costs name", "cluster: {nodes: [{name: a}], costs: fast}\nworkload: [{generator: chain}]\n", `x.yaml:1:38: cluster.costs: one of default, zero, or a path to a costs file (got "fast")`},
		{"costs file missing", "cluster: {nodes: [{name: a}], costs: {profile: nope.yaml}}\nworkload: [{generator: chain}]\n", `x.yaml:1:48: cluster.costs.profile: a readable costs file (open nope.yaml: no such file or directory) (got "nope.yaml")`},
		{"gcs replicas", "cluster: {nodes: [{name: a}], gcs: {replicas: 0}}\nworkload: [{generator: chain}]\n", `x.yaml:1:47: cluster.gcs.replicas: an integer >= 1 (got 0)`},
		{"all count zero", "cluster: {nodes: [{name: a, count: 0}]}\nworkload: [{generator: chain}]\n", `x.yaml:1:18: cluster.nodes: at least one node (got none: every count is 0)`},
		{"link unknown node", "cluster: {nodes: [{name: a}], network: {links: [{from: a, to: z}]}}\nworkload: [{generator: chain}]\n", `x.yaml:1:63: cluster.network.links.0.to: a node or group name of the cluster, or of the control plane: scheduler, gcs or gcs-0 (got "z")`},
		{"gcs replica bound", "cluster: {nodes: [{name: a}]}\nworkload: [{generator: chain}]\nfaults: [{at: 0s, kill_gcs_replica: 1}]\n", `x.yaml:3:37: faults.0.kill_gcs_replica: a replica index in [0, 1) (gcs shards*replicas = 1*1) (got 1)`},
		{"null distribution parameter", "cluster: {nodes: [{name: a}], network: {latency: {dist: normal, mean: , stddev: 1ms}}}\nworkload: [{generator: chain}]\n",
			`x.yaml:1:71: cluster.network.latency.mean: mean for a normal distribution (got nothing)`},
		{"max_retries below -1", base + "    max_retries: -2\n", "x.yaml:7:18: workload.0.max_retries: an integer >= -1 (got -2)"},
		{"max_retries past int32", base + "    max_retries: 2147483648\n", "x.yaml:7:18: workload.0.max_retries: an integer from -1 to 2147483647 (got 2147483648)"},
		{"spill beside an unbounded store", "cluster: {nodes: [{name: a, object_store: 0, object_spill: 1GiB}]}\nworkload: [{generator: chain}]\n",
			`x.yaml:1:60: cluster.nodes.0.object_spill: 0 (no spill tier) beside an unbounded object_store (0): only a bounded store spills (got "1GiB")`},
		{"negative spill", "cluster: {nodes: [{name: a, object_spill: -1MiB}]}\nworkload: [{generator: chain}]\n",
			`x.yaml:1:43: cluster.nodes.0.object_spill: a non-negative size (got "-1MiB")`},
		{"spill not a size", "cluster: {nodes: [{name: a, object_spill: lots}]}\nworkload: [{generator: chain}]\n",
			`x.yaml:1:43: cluster.nodes.0.object_spill: a size like 512MB, 2GiB or 4096 (bytes) (got "lots")`},
		{"drivers", base + "    drivers: all\n", `x.yaml:7:14: workload.0.drivers: a number of drivers >= 1, or per-node (got "all")`},
		// Follow-on errors of an already-reported one are left out.
		{"bad count hides its names", "cluster: {nodes: [{name: a, count: -1}, {name: b}]}\nworkload: [{generator: chain}]\nfaults: [{at: 1s, kill_node: a-3}, {at: 1s, kill_node: a}, {at: 2s, kill_node: c}]\n",
			"x.yaml:1:36: cluster.nodes.0.count: an integer >= 0 (got -1)\nx.yaml:3:80: faults.2.kill_node: a node name of the cluster (got \"c\")"},
		{"duplicate group name hides its names", "cluster:\n  nodes:\n    - {name: head}\n    - {name: head, count: 2}\nworkload: [{generator: chain}]\nfaults: [{at: 1s, kill_node: head-1}, {at: 1s, kill_node: zz}]\n",
			"x.yaml:4:14: cluster.nodes.1.name: a unique group name (got \"head\")\nx.yaml:6:59: faults.1.kill_node: a node name of the cluster (got \"zz\")"},
		{"bad count, no every-count-is-0", "cluster: {nodes: [{name: a, count: -1}]}\nworkload: [{generator: chain}]\nfaults: [{at: 1s, partition: [[a-0], [a-1]]}]\n",
			"x.yaml:1:36: cluster.nodes.0.count: an integer >= 0 (got -1)"},
		{"bad name hides every name", "cluster: {nodes: [{name: [a]}]}\nworkload: [{generator: chain}]\nnetwork: {}\n",
			"x.yaml:1:26: cluster.nodes.0.name: a group name (got a list)\nx.yaml:3:1: network: unknown key; expected one of name, seed, description, duration_limit, cluster, workload, faults, expect (got \"network\")"},
		{"bad cpus hides feasibility", "cluster: {nodes: [{name: a, cpus: x}]}\nworkload: [{generator: chain, resources: {CPU: 4}}]\n",
			`x.yaml:1:35: cluster.nodes.0.cpus: a number >= 0 (got "x")`},
		{"uncounted group still counts for feasibility", "cluster: {nodes: [{name: a, count: x, gpus: 1}]}\nworkload: [{generator: chain, resources: {GPU: 2}}]\n",
			"x.yaml:1:36: cluster.nodes.0.count: an integer >= 0 (got \"x\")\nx.yaml:2:42: workload.0.resources: a demand that at least one node can meet (got GPU: 2; no node has that much)"},
		{"bad limit hides within-limit checks", "duration_limit: forever\n" + base + "faults: [{at: 2h, kill_node: b}]\nexpect: {finish_by: 3h}\n",
			`x.yaml:1:17: duration_limit: a duration like 10ms, 1.5s or 200us (got "forever")`},
		{"bad gcs hides the replica bound", "cluster: {nodes: [{name: a}], gcs: {shards: 0}}\nworkload: [{generator: chain}]\nfaults: [{at: 0s, kill_gcs_replica: 3}]\n",
			`x.yaml:1:45: cluster.gcs.shards: an integer >= 1 (got 0)`},
		{"default demand infeasible", "cluster:\n  nodes:\n    - {name: n, cpus: 0}\nworkload:\n  - generator: parallel\n    params: {tasks: 10}\n",
			`x.yaml:5:5: workload.0.resources: a demand that at least one node can meet (got CPU: 1, the default when resources is not given; no node has that much)`},
		{"default demand fractional", "cluster: {nodes: [{name: n, cpus: 0.5}]}\nworkload: [{generator: chain}]\n",
			`x.yaml:2:12: workload.0.resources: a demand that at least one node can meet (got CPU: 1, the default when resources is not given; no node has that much)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// TestMaxRetriesUnbounded: max_retries -1 retries without bound, as Ray's.
func TestMaxRetriesUnbounded(t *testing.T) {
	sc, err := Parse("x.yaml", []byte("cluster: {nodes: [{name: a}]}\nworkload: [{generator: chain, max_retries: -1}]\n"))
	require.NoError(t, err)
	assert.Equal(t, -1, sc.Workload[0].MaxRetries)
}

func TestSetOverrides(t *testing.T) {
	data, err := os.ReadFile("quickstart.yaml")
	require.NoError(t, err)
	s, err := ParseWithOverrides("quickstart.yaml", data, []string{
		"workload.0.params.tasks=1000000",
		"seed=7",
		"cluster.nodes.1.count=100",
		"workload.0.params.duration={dist: uniform, min: 1ms, max: 2ms}",
		"cluster.gcs.shards=4",
		"expect.max_failed_tasks=3",
		"faults.2.at=1s",
		"faults.2.heal=true",
	})
	require.NoError(t, err)
	assert.Equal(t, 1000000, s.Workload[0].Params.(*ParallelParams).Tasks)
	assert.Equal(t, int64(7), s.Seed)
	assert.Len(t, s.Cluster.Nodes, 101)
	assert.Equal(t, DurationDist{Dist{Kind: Uniform, Min: 1e6, Max: 2e6}}, s.Workload[0].Params.(*ParallelParams).Duration)
	assert.Equal(t, 4, s.Cluster.GCS.Shards)
	assert.Equal(t, 3, *s.Expect.MaxFailedTasks)
	assert.Equal(t, Heal, s.Faults[2].Kind)

	// Set re-decodes; an error leaves the scenario as it was.
	require.NoError(t, s.Set("cluster.scheduler.policy", "random"))
	assert.Equal(t, "random", s.Cluster.Scheduler.Policy)
	assert.Equal(t, int64(7), s.Seed, "earlier overrides are kept")
	err = s.Set("cluster.scheduler.policy", "fifo")
	assert.EqualError(t, err, `--set cluster.scheduler.policy=fifo: cluster.scheduler.policy: one of bottom-up, centralized, random, power-of-two, locality-aware (got "fifo")`)
	assert.Equal(t, "random", s.Cluster.Scheduler.Policy)
	assert.Len(t, s.Overrides(), 9)

	for _, tc := range []struct{ set, want string }{
		{"cluster.nodez.0.count=3", `--set cluster.nodez.0.count=3: cluster.nodez: unknown key; expected one of nodes, network, gcs, scheduler, costs (got "nodez")`},
		{"workload.5.params.tasks=3", `--set workload.5.params.tasks=3: workload.5: expected a list index in [0, 3] (got "5")`},
		{"seed.x=3", `--set seed.x=3: seed: expected a mapping or list to hold "x" (got 42)`},
		{"seed", `--set seed: expected path=value, like workload.0.params.tasks=1000 (got "seed")`},
		{"workload.0.params.tasks=-1", `--set workload.0.params.tasks=-1: workload.0.params.tasks: an integer >= 0 (got -1)`},
		{"cluster.nodes.1.count=[", `--set cluster.nodes.1.count=[: cluster.nodes.1.count: expected a YAML value (got "[": line 1: did not find expected node content)`},
	} {
		_, err := ParseWithOverrides("quickstart.yaml", data, []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Equal(t, tc.want, err.Error(), tc.set)
	}
}

var ignorePositions = []cmp.Option{
	cmp.AllowUnexported(), cmpopts.IgnoreUnexported(Scenario{}),
	cmpopts.IgnoreFields(Scenario{}, "File"), cmpopts.IgnoreFields(Fault{}, "Line", "Pos"),
	cmpopts.IgnoreFields(Costs{}, "Path"),
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, f := range fixtures(t) {
		t.Run(f, func(t *testing.T) {
			s, err := Load(f)
			require.NoError(t, err)
			out, err := s.Marshal()
			require.NoError(t, err)
			back, err := Parse(f, out)
			require.NoError(t, err, "%s", out)
			if diff := cmp.Diff(s, back, ignorePositions...); diff != "" {
				t.Fatalf("round trip differs (-loaded +re-read):\n%s\n%s", diff, out)
			}
			again, err := back.Marshal()
			require.NoError(t, err)
			assert.Equal(t, string(out), string(again), "Marshal is canonical")
		})
	}
}

func TestDistSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range []Dist{
		{Kind: Constant, Mean: 5},
		{Kind: Uniform, Min: 1, Max: 3},
		{Kind: Normal, Mean: 10, Stddev: 2, Min: 5, Max: 15},
		{Kind: LogNormal, Mean: 10, Stddev: 5},
		{Kind: Exponential, Mean: 4, Max: 20},
	} {
		sum := 0.0
		const n = 20000
		for i := 0; i < n; i++ {
			v := d.Sample(r)
			require.GreaterOrEqual(t, v, d.Min)
			if d.Max > 0 {
				require.LessOrEqual(t, v, d.Max)
			}
			sum += v
		}
		assert.InDelta(t, d.Expected(), sum/n, 0.1*d.Expected()+0.05, d.Kind)
	}
	assert.Equal(t, 3*time.Millisecond, FixedDuration(3*time.Millisecond).Sample(r))
	assert.Equal(t, int64(7), FixedSize(7).Sample(r))
}

// TestDocsCoverEveryKey keeps docs/scenarios.md honest: every generator,
// parameter, fault kind, cost operation and policy is mentioned.
func TestDocsCoverEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	require.NoError(t, err)
	text := string(doc)
	var names []string
	names = append(names, Generators...)
	for _, g := range Generators {
		names = append(names, ParamNames(g)...)
	}
	names = append(names, FaultKinds...)
	names = append(names, CostOps...)
	names = append(names, scheduler.PolicyNames()...)
	names = append(names, DistKinds...)
	for _, n := range names {
		assert.Contains(t, text, "`"+n, n)
	}
}

// TestSetEmptyValue: "path=" with nothing after '=' clears a list or
// mapping; given to anything else it is an error naming the override (a
// script's --set seed=$SEED with SEED unset must not run the default).
// Errors a --set override causes name it, not a line of the file.
func TestSetEmptyValue(t *testing.T) {
	data, err := os.ReadFile("quickstart.yaml")
	require.NoError(t, err)
	const hint = "an empty value only clears a list or mapping, and null restores a default"
	for _, tc := range []struct{ set, want string }{
		{"seed=", `--set seed=: seed: a value after '=' (got nothing; the file has 42 there); ` + hint},
		{"seed= ", `--set seed= : seed: a value after '=' (got nothing; the file has 42 there); ` + hint},
		{"workload.0.params.tasks=", `--set workload.0.params.tasks=: workload.0.params.tasks: a value after '=' (got nothing; the file has 2000 there); ` + hint},
		{"workload.0.params.free=", `--set workload.0.params.free=: workload.0.params.free: a value after '=' (got nothing, and the file has no list or mapping there to clear); ` + hint},
		{"duration_limit=", `--set duration_limit=: duration_limit: a value after '=' (got nothing; the file has "30s" there); ` + hint},
		{"workload=", `--set workload=: workload: at least one workload entry (got an empty list)`},
		{"workload=null", `--set workload=null: workload: a list of workload entries (got nothing)`},
		{"cluster.nodes=null", `--set cluster.nodes=null: cluster.nodes: a list of node groups (got nothing)`},
		{"cluster.nodes=[]", `--set cluster.nodes=[]: cluster.nodes: at least one node group (got an empty list)`},
	} {
		_, err := ParseWithOverrides("quickstart.yaml", data, []string{tc.set})
		require.Error(t, err, tc.set)
		assert.Equal(t, tc.want, err.Error(), tc.set)
	}
	// Clearing a mapping or list works, like {} or [].
	for _, set := range []string{"expect=", "faults=", "expect={}", "faults=[]", "cluster.network="} {
		s, err := ParseWithOverrides("quickstart.yaml", data, []string{set})
		require.NoError(t, err, set)
		switch set {
		case "expect=", "expect={}":
			assert.Equal(t, Expect{}, s.Expect, set)
		case "faults=", "faults=[]":
			assert.Empty(t, s.Faults, set)
		default:
			assert.Equal(t, FixedDuration(DefaultLatency), s.Cluster.Network.Latency, set)
		}
	}
	// null restores a default.
	s, err := ParseWithOverrides("quickstart.yaml", data, []string{"seed=null"})
	require.NoError(t, err)
	assert.Equal(t, int64(DefaultSeed), s.Seed)
}

// TestDocsListEveryShippedScenario: the shipped-scenarios table in
// docs/scenarios.md has a row for every scenarios/*.yaml.
func TestDocsListEveryShippedScenario(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	require.NoError(t, err)
	shipped, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, shipped)
	for _, f := range shipped {
		assert.Contains(t, string(doc), "| `"+f+"` |", "docs/scenarios.md: no row for %s in the shipped-scenarios table", f)
	}
}
