package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Control-plane endpoints. Besides the cluster's nodes, a partition group
// or an end of a degraded link may name the global scheduler or the GCS
// (every shard, or one with all its replicas), so a fault schedule can
// delay or cut the news that travels between the control plane and the
// nodes — where a node's death, its registration and its actors' state
// race each other. A node or group of the same name wins (such a name then
// means the node). The simulator runs them; a deployed cluster refuses
// them (see Scenario.NamesControl).
const (
	EndpointScheduler = "scheduler"
	EndpointGCS       = "gcs" // every shard; "gcs-0", "gcs-1"... one shard
)

// GCSEndpoint is the name of GCS shard i as a fault endpoint.
func GCSEndpoint(i int) string { return EndpointGCS + "-" + strconv.Itoa(i) }

// ControlEndpoints lists the cluster's control-plane endpoints that are not
// shadowed by a node or group name: the scheduler, then each GCS shard.
func (s *Scenario) ControlEndpoints() []string {
	var out []string
	for _, name := range controlNames(s.Cluster.GCS.Shards) {
		if _, node := s.nodeIndex[name]; !node && !s.isGroup(name) {
			out = append(out, name)
		}
	}
	return out
}

func controlNames(shards int) []string {
	out := []string{EndpointScheduler}
	for i := 0; i < max(shards, 1); i++ {
		out = append(out, GCSEndpoint(i))
	}
	return out
}

// ControlEndpoint says what a resolved endpoint name that is no node
// stands for: the scheduler (shard -1) or GCS shard shard.
func ControlEndpoint(name string, shards int) (shard int, ok bool) {
	if name == EndpointScheduler {
		return -1, true
	}
	k, found := strings.CutPrefix(name, EndpointGCS+"-")
	if !found || k == "" || strings.Trim(k, "0123456789") != "" || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(k)
	if err != nil || i >= max(shards, 1) {
		return 0, false
	}
	return i, true
}

func (s *Scenario) isGroup(name string) bool {
	for _, g := range s.Cluster.Groups {
		if g.Name == name && g.Count != 1 {
			return true
		}
	}
	return false
}

// NamesControl reports whether fault f names a control-plane endpoint (a
// deployed cluster cannot inject such a fault).
func (s *Scenario) NamesControl(f *Fault) bool {
	var names []string
	for _, g := range f.Groups {
		names = append(names, g...)
	}
	if f.Link != nil {
		names = append(names, f.Link.FromNodes...)
		names = append(names, f.Link.ToNodes...)
	}
	for _, n := range names {
		if _, node := s.nodeIndex[n]; node {
			continue
		}
		if _, ok := ControlEndpoint(n, s.Cluster.GCS.Shards); ok {
			return true
		}
	}
	return false
}

// endpoints resolves a partition member or a link end: a node or group of
// the cluster, else a control-plane endpoint (gcs expands to every shard).
func (d *decoder) endpoints(n *yaml.Node, path string) ([]string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return d.resolve(n, path)
	}
	name := n.Value
	_, node := d.nodes[name]
	_, group := d.groups[name]
	if node || group || d.mayExist(name) {
		return d.resolve(n, path)
	}
	shards := 1
	if d.cl != nil {
		shards = max(d.cl.GCS.Shards, 1)
	}
	if name == EndpointGCS {
		return controlNames(shards)[1:], true
	}
	if _, ok := ControlEndpoint(name, shards); ok {
		return []string{name}, true
	}
	if d.gcsUnknown && strings.HasPrefix(name, EndpointGCS+"-") {
		return nil, false // cluster.gcs is broken (reported): the shard may exist
	}
	shardNames := GCSEndpoint(0)
	if shards > 1 {
		shardNames += ".." + GCSEndpoint(shards-1)
	}
	d.expected(n, path, fmt.Sprintf("a node or group name of the cluster, or of the control plane: %s, %s or %s",
		EndpointScheduler, EndpointGCS, shardNames))
	return nil, false
}
