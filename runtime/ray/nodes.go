package ray

import (
	"context"
	"fmt"

	"raysim/runtime/transport"
)

// NodeInfo is one raylet of the cluster as the global scheduler sees it
// (Ray's ray.nodes() entry): its ID (RayletID(i) for the i-th node of a
// Config), incarnation, whether it is alive, and its resources by Ray's
// names ("CPU", "GPU", custom names; a placement group's bundles show as
// the renamed resources they hold) as of its last heartbeat.
type NodeInfo struct {
	ID          transport.NodeID
	Incarnation uint64
	Alive       bool
	Total       map[string]float64
	Available   map[string]float64
	// QueueLen is the tasks queued on the node, not running, at its last
	// heartbeat.
	QueueLen int
}

// Nodes lists the cluster's raylets, alive and dead, in the order the
// global scheduler heard them register (Ray's ray.nodes()), each once at
// its latest incarnation (Ray lists a restarted node again, under a new
// node ID). The answer is
// as fresh as the nodes' last heartbeats (every 100ms by default): a task
// placed a moment ago may not show in Available yet. A driver's raylet
// (a live cluster's driver, Config.Drivers) is a node of no resources.
func Nodes(ctx context.Context) ([]NodeInfo, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := c.ClusterView(ctx)
	if err != nil {
		return nil, fmt.Errorf("ray: nodes: %w", err)
	}
	out := make([]NodeInfo, len(v.Nodes))
	for i, n := range v.Nodes {
		out[i] = NodeInfo{ID: n.Node, Incarnation: n.Incarnation, Alive: n.Alive,
			Total: resourceMap(n.Total), Available: resourceMap(n.Available), QueueLen: int(n.QueueLen)}
	}
	return out, nil
}

// ClusterResources sums the resources of the alive nodes (Ray's
// ray.cluster_resources()); AvailableResources what of them is free
// (ray.available_resources()), as of the nodes' last heartbeats. A
// resource no node has is absent, not 0.
func ClusterResources(ctx context.Context) (map[string]float64, error) {
	return sumNodes(ctx, func(n NodeInfo) map[string]float64 { return n.Total })
}

// AvailableResources: see ClusterResources. Ray leaves out a resource
// none of which is free; so does this.
func AvailableResources(ctx context.Context) (map[string]float64, error) {
	sum, err := sumNodes(ctx, func(n NodeInfo) map[string]float64 { return n.Available })
	for k, v := range sum { // deleting while ranging is allowed; the order is not observed
		if v <= 0 {
			delete(sum, k)
		}
	}
	return sum, err
}

func sumNodes(ctx context.Context, pick func(NodeInfo) map[string]float64) (map[string]float64, error) {
	nodes, err := Nodes(ctx)
	if err != nil {
		return nil, err
	}
	sum := make(map[string]float64)
	for _, n := range nodes {
		if !n.Alive {
			continue
		}
		for k, v := range pick(n) { // sums: the order does not matter
			sum[k] += v
		}
	}
	return sum, nil
}

// resourceMap is a bundle by Ray's resource names, amounts in units of
// the resource (0.5 CPU), zero amounts left out.
func resourceMap(r transport.Resources) map[string]float64 {
	m := make(map[string]float64, 2+len(r.Custom))
	put := func(name string, units int64) {
		if units != 0 {
			m[name] = float64(units) / transport.ResourceUnit
		}
	}
	put("CPU", r.CPU)
	put("GPU", r.GPU)
	for _, q := range r.Custom {
		put(q.Name, q.Amount)
	}
	return m
}
