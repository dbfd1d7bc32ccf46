package scheduler

import (
	"time"

	"raysim/runtime/transport"
)

// Read-only views of the global scheduler, for state dumps (raysim replay
// --until). They copy what they return and change nothing.

// NodeLoad is the global scheduler's view of one node.
type NodeLoad struct {
	Node      transport.NodeID
	Dead      bool
	Total     transport.Resources
	Available transport.Resources
	QueueLen  int
	// The node's heartbeated means (0: none yet): task time, and pull
	// bandwidth in bytes/s.
	MeanTaskTime  time.Duration
	MeanBandwidth uint64
}

// Loads lists the scheduler's node views in registration order.
func (g *Global) Loads() []NodeLoad {
	out := make([]NodeLoad, 0, len(g.nodes))
	for _, v := range g.nodes {
		out = append(out, NodeLoad{Node: v.id, Dead: v.dead, Total: v.total, Available: v.avail, QueueLen: v.queue,
			MeanTaskTime: v.meanTask, MeanBandwidth: v.meanBW})
	}
	return out
}

// Placed is the number of tasks the global scheduler placed.
func (g *Global) Placed() uint64 { return g.placed }
