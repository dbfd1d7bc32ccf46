package runner

import (
	"fmt"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
)

// clusterConfig maps a scenario's cluster section to a ray.Config.
func clusterConfig(s *scenarios.Scenario) (ray.Config, error) {
	cl := &s.Cluster
	cfg := ray.Config{
		Seed:        s.Seed,
		GCSShards:   cl.GCS.Shards,
		GCSReplicas: cl.GCS.Replicas,
		Policy:      cl.Scheduler.Policy,
		// A policy of the program's own (nil for a built-in's name).
		PolicyImpl:     s.Extensions().Policy(cl.Scheduler.Policy),
		SpillThreshold: spillThreshold(cl.Scheduler.SpillThreshold),
		MaxVirtual:     s.DurationLimit,
	}
	for _, n := range cl.Nodes {
		cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: n.Name, CPUs: n.CPUs, GPUs: n.GPUs,
			Resources: n.Resources, ObjectStoreBytes: n.ObjectStoreBytes, ObjectSpillBytes: n.ObjectSpillBytes, Start: n.Start, Standby: n.Standby})
	}
	prof, err := cl.Costs.Resolve()
	if err != nil {
		return cfg, fmt.Errorf("%s: cluster.costs: %w", s.File, err)
	}
	cfg.Costs = &prof
	nw := &cl.Network
	cfg.Link = netsim.Link{
		Latency: netDist(nw.Latency), Jitter: time.Duration(nw.Jitter.Expected()),
		Bandwidth: nw.Bandwidth, Loss: nw.Loss, Duplicate: nw.Duplicate, Reorder: nw.Reorder,
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

// endpointIDs is what a resolved endpoint name stands for in the
// simulator: a node's raylet, the global scheduler, or every replica of a
// GCS shard (see scenarios.ControlEndpoint).
func endpointIDs(s *scenarios.Scenario, name string) []netsim.NodeID {
	if i, ok := s.NodeIndex(name); ok {
		return []netsim.NodeID{netsim.NodeID(ray.RayletID(i))}
	}
	shard, ok := scenarios.ControlEndpoint(name, s.Cluster.GCS.Shards)
	switch {
	case !ok:
		return nil // validated by the loader
	case shard < 0:
		return []netsim.NodeID{netsim.NodeID(ray.SchedulerID)}
	}
	out := make([]netsim.NodeID, 0, max(s.Cluster.GCS.Replicas, 1))
	for r := 0; r < max(s.Cluster.GCS.Replicas, 1); r++ {
		out = append(out, netsim.NodeID(ray.ReplicaID(shard, r)))
	}
	return out
}

// endpointName names the endpoint id of s's cluster as a scenario does:
// a node's name, scheduler, or gcs-J (with its replica when the shard has
// several); "" for an id that is none of them (a driver's).
func endpointName(s *scenarios.Scenario, id transport.NodeID) string {
	if i := int(id) - int(ray.RayletID(0)); i >= 0 && i < len(s.Cluster.Nodes) && ray.RayletID(i) == id {
		return s.Cluster.Nodes[i].Name
	}
	if id == ray.SchedulerID {
		return scenarios.EndpointScheduler
	}
	replicas := max(s.Cluster.GCS.Replicas, 1)
	for j := 0; j < max(s.Cluster.GCS.Shards, 1); j++ {
		for r := 0; r < replicas; r++ {
			if ray.ReplicaID(j, r) != id {
				continue
			}
			if replicas == 1 {
				return scenarios.GCSEndpoint(j)
			}
			return fmt.Sprintf("%s replica %d", scenarios.GCSEndpoint(j), r)
		}
	}
	return ""
}

// linkPairs lists the directed (from, to) endpoint pairs of a link, in the
// order the link names them: both ways when it is symmetric, never an
// endpoint to itself.
func linkPairs(s *scenarios.Scenario, l *scenarios.Link) [][2]netsim.NodeID {
	var out [][2]netsim.NodeID
	for _, from := range l.FromNodes {
		for _, to := range l.ToNodes {
			for _, a := range endpointIDs(s, from) {
				for _, b := range endpointIDs(s, to) {
					if a == b {
						continue
					}
					out = append(out, [2]netsim.NodeID{a, b})
					if l.Symmetric {
						out = append(out, [2]netsim.NodeID{b, a})
					}
				}
			}
		}
	}
	return out
}

// applyLinks installs the scenario's per-link overrides.
func applyLinks(s *scenarios.Scenario, sim *netsim.Sim, base netsim.Link) {
	pairs, models := linkModels(s, base)
	for _, p := range pairs {
		sim.SetLink(p[0], p[1], models[p])
	}
}

// linkModels is the link model of every pair some cluster.network.links
// entry matches (pairs, in the order first matched): the network's
// defaults, then every matching entry in order, a later one winning per
// key (a key it leaves out keeps what an earlier one set).
func linkModels(s *scenarios.Scenario, base netsim.Link) ([][2]netsim.NodeID, map[[2]netsim.NodeID]netsim.Link) {
	var pairs [][2]netsim.NodeID
	models := map[[2]netsim.NodeID]netsim.Link{}
	for i := range s.Cluster.Network.Links {
		l := &s.Cluster.Network.Links[i]
		for _, p := range linkPairs(s, l) {
			link, seen := models[p]
			if !seen {
				link = base
				pairs = append(pairs, p)
			}
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
			models[p] = link
		}
	}
	return pairs, models
}

// spillThreshold maps a scenario's spill_threshold to ray.Config's: 0
// (spill every task) is ray.SpillAlways there, where 0 is the default.
func spillThreshold(t int) int {
	if t == 0 {
		return ray.SpillAlways
	}
	return t
}
