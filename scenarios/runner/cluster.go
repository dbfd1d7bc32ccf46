package runner

import (
	"fmt"
	"time"

	"raysim/netsim"
	"raysim/runtime/costs"
	"raysim/runtime/ray"
	"raysim/scenarios"
)

// clusterConfig maps a scenario's cluster section to a ray.Config.
func clusterConfig(s *scenarios.Scenario) (ray.Config, error) {
	cl := &s.Cluster
	cfg := ray.Config{
		Seed:           s.Seed,
		GCSShards:      cl.GCS.Shards,
		GCSReplicas:    cl.GCS.Replicas,
		Policy:         cl.Scheduler.Policy,
		SpillThreshold: cl.Scheduler.SpillThreshold,
		MaxVirtual:     s.DurationLimit,
	}
	for _, n := range cl.Nodes {
		cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: n.Name, CPUs: n.CPUs, GPUs: n.GPUs,
			Resources: n.Resources, ObjectStoreBytes: n.ObjectStoreBytes})
	}
	prof, err := costs.Named(cl.Costs.Profile)
	if err != nil {
		return cfg, fmt.Errorf("%s: cluster.costs: %w", s.File, err)
	}
	for _, op := range sortedDurKeys(cl.Costs.Overrides) {
		f, err := prof.Field(op)
		if err != nil {
			return cfg, fmt.Errorf("%s: cluster.costs: %w", s.File, err)
		}
		*f = cl.Costs.Overrides[op]
	}
	cfg.Costs = &prof
	nw := &cl.Network
	cfg.Link = netsim.Link{
		Latency: netDist(nw.Latency), Jitter: time.Duration(nw.Jitter.Expected()),
		Bandwidth: nw.Bandwidth, Loss: nw.Loss, Duplicate: nw.Duplicate, Reorder: nw.Reorder,
	}
	if cfg.Link.Bandwidth == 0 && cfg.Link.Latency == (netsim.Dist{}) {
		// Keep an explicit zero-latency infinite-bandwidth network possible.
		cfg.Link.Jitter = 0
	}
	return cfg, nil
}

// netDist converts a scenario duration distribution to netsim's.
func netDist(d scenarios.DurationDist) netsim.Dist {
	out := netsim.Dist{Mean: time.Duration(d.Mean), Stddev: time.Duration(d.Stddev),
		Min: time.Duration(d.Min), Max: time.Duration(d.Max)}
	switch d.Kind {
	case scenarios.Uniform:
		out.Kind = netsim.DistUniform
	case scenarios.Normal:
		out.Kind = netsim.DistNormal
	case scenarios.LogNormal:
		out.Kind = netsim.DistLogNormal
	case scenarios.Exponential:
		out.Kind = netsim.DistExponential
	default:
		out.Kind = netsim.DistConstant
	}
	return out
}

// applyLinks installs the scenario's per-link overrides between raylets.
func applyLinks(s *scenarios.Scenario, sim *netsim.Sim, base netsim.Link) {
	for _, l := range s.Cluster.Network.Links {
		for _, from := range l.FromNodes {
			for _, to := range l.ToNodes {
				set := func(a, b string) {
					i, _ := s.NodeIndex(a)
					j, _ := s.NodeIndex(b)
					if i == j {
						return
					}
					link := base
					if l.Latency != nil {
						link.Latency = netDist(*l.Latency)
					}
					if l.Jitter != nil {
						link.Jitter = time.Duration(l.Jitter.Expected())
					}
					if l.Bandwidth != nil {
						link.Bandwidth = *l.Bandwidth
					}
					if l.Loss != nil {
						link.Loss = *l.Loss
					}
					if l.Duplicate != nil {
						link.Duplicate = *l.Duplicate
					}
					if l.Reorder != nil {
						link.Reorder = *l.Reorder
					}
					sim.SetLink(netsim.NodeID(ray.RayletID(i)), netsim.NodeID(ray.RayletID(j)), link)
				}
				set(from, to)
				if l.Symmetric {
					set(to, from)
				}
			}
		}
	}
}
