package runner

import (
	"fmt"
	"maps"
	"time"

	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/scenarios"
	"raysim/traces"
)

// ProgramHeader is a trace header for a Go program's own simulated run
// (ray.NewSim with a traces.Recorder, not a scenario): it describes cfg's
// cluster — its nodes, their CPUs, GPUs, resources and stores, the GCS, the
// policy, the seed — as a scenario, so that `raysim analyze` and `trace
// stats` show the nodes' CPUs and utilization. name names the run (the
// header's File and the scenario's name).
//
// The scenario is a description, not the program: its one workload entry
// is an empty placeholder (a scenario needs one), so `raysim replay`
// cannot re-run the trace (its first record differs), and a policy of the
// program's own (cfg.PolicyImpl, or a name no built-in has) is written as
// the default with its name in the description, since the analyzer knows
// only the built-ins' names.
func ProgramHeader(name string, cfg ray.Config) (traces.Header, error) {
	s := &scenarios.Scenario{Name: name, Seed: cfg.Seed, DurationLimit: scenarios.DefaultDurationLimit,
		Description: "The cluster of a Go program's run (runner.ProgramHeader); its workload was the program's, not the placeholder below."}
	if cfg.MaxVirtual > 0 {
		s.DurationLimit = cfg.MaxVirtual
	}
	c := &s.Cluster
	for _, n := range cfg.Nodes {
		c.Groups = append(c.Groups, scenarios.NodeGroup{Name: n.Name, Count: 1, CPUs: n.CPUs, GPUs: n.GPUs,
			Resources: maps.Clone(n.Resources), ObjectStoreBytes: n.ObjectStoreBytes, ObjectSpillBytes: n.ObjectSpillBytes, Start: n.Start})
	}
	c.GCS = scenarios.GCSConfig{Shards: max(cfg.GCSShards, 1), Replicas: max(cfg.GCSReplicas, 1)}
	policy := cfg.Policy
	if cfg.PolicyImpl != nil {
		policy = cfg.PolicyImpl.Name()
	}
	if policy == "" {
		policy = scenarios.DefaultPolicy
	}
	if _, err := scheduler.NewPolicy(policy); err != nil {
		s.Description += fmt.Sprintf(" Its scheduling policy was %q, the program's own (written here as %s).", policy, scenarios.DefaultPolicy)
		policy = scenarios.DefaultPolicy
	}
	// ray.Config's threshold: 0 is its default, 8; negative (SpillAlways) 0.
	c.Scheduler = scenarios.SchedulerConfig{Policy: policy, SpillThreshold: 8}
	if cfg.SpillThreshold != 0 {
		c.Scheduler.SpillThreshold = max(cfg.SpillThreshold, 0)
	}
	c.Costs = scenarios.Costs{Profile: scenarios.DefaultCostProfile}
	c.Network.Bandwidth = cfg.Link.Bandwidth
	if c.Network.Bandwidth <= 0 {
		c.Network.Bandwidth = 1.25e9
	}
	c.Network.Latency = scenarios.FixedDuration(100 * time.Microsecond)
	s.Workload = []scenarios.Workload{{Name: "program", Generator: "parallel", Params: &scenarios.ParallelParams{},
		Arrival: scenarios.Arrival{Kind: scenarios.Burst}, Drivers: scenarios.Drivers{Count: 1}, Resources: map[string]float64{"CPU": 0}}}
	data, err := s.Marshal()
	if err != nil {
		return traces.Header{}, fmt.Errorf("runner: program header %s: %w", name, err)
	}
	if _, err := scenarios.Parse(name, data); err != nil {
		return traces.Header{}, fmt.Errorf("runner: program header %s: %w", name, err)
	}
	return traces.Header{File: name, Scenario: data, Seed: cfg.Seed, Transport: "sim"}, nil
}
