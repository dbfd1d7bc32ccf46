package traces

import (
	"fmt"

	"raysim/runtime/transport"
	"raysim/scenarios"
)

// NodeNamer is the one naming of a trace's endpoints that the Chrome and
// OpenTelemetry exports and `raysim analyze` share, from the trace's
// header: a raylet of the header's scenario by its cluster.nodes name (its
// ID from Header.NodeIDs on a live cluster, else i+1 for node i); any other
// raylet ID "driver-N" in a live cluster's trace (transport remote: the
// header lists the live nodes, and the drivers' raylets take the IDs
// between and after them) and "node-N" otherwise, N being the endpoint ID
// as the JSON lines export and `trace stats` show it; the other endpoints
// by EndpointName. A header whose scenario cannot be read names every
// raylet "node-N" (which of them are drivers is unknown).
func NodeNamer(h *Header) func(transport.NodeID) string {
	names := map[transport.NodeID]string{}
	if len(h.Scenario) > 0 {
		file := h.File
		if file == "" {
			file = "trace header"
		}
		if s, err := scenarios.Parse(file, h.Scenario); err == nil {
			ids := h.NodeIDs
			if len(ids) != len(s.Cluster.Nodes) {
				ids = nil
			}
			for i, n := range s.Cluster.Nodes {
				id := transport.NodeID(i + 1)
				if ids != nil {
					id = ids[i]
				}
				names[id] = n.Name
			}
		}
	}
	// Drivers are told apart only when the header lists the live nodes.
	live := h.Transport == "remote" && len(names) > 0
	return func(id transport.NodeID) string {
		if s, ok := names[id]; ok && s != "" {
			return s
		}
		if id != 0 && id < schedulerID {
			if live {
				return fmt.Sprintf("driver-%d", id)
			}
			return fmt.Sprintf("node-%d", id)
		}
		return EndpointName(id)
	}
}
