package gcs

import (
	"cmp"
	"slices"
	"time"

	"raysim/runtime/transport"
)

// Read-only views of a shard's tables, for state dumps (raysim replay
// --until). They copy what they return and change nothing.

// ObjectRow is one row of the object table.
type ObjectRow struct {
	Object      transport.ObjectID
	Size        int64
	Nodes       []transport.NodeID
	Subscribers int
}

// ObjectRows lists up to limit rows of the object table in ID order, and
// the table's size.
func (s *Shard) ObjectRows(limit int) ([]ObjectRow, int) {
	ids := make([]transport.ObjectID, 0, s.objects.Len())
	for id := range s.objects.All() {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b transport.ObjectID) int {
		if c := cmp.Compare(a.Task, b.Task); c != 0 {
			return c
		}
		if a.Put != b.Put {
			if a.Put {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Index, b.Index)
	})
	out := make([]ObjectRow, 0, min(limit, len(ids)))
	for _, id := range ids[:min(limit, len(ids))] {
		e, _ := s.objects.Get(id)
		out = append(out, ObjectRow{Object: id, Size: e.size, Nodes: slices.Clone(e.nodes), Subscribers: len(e.subs)})
	}
	return out, len(ids)
}

// TaskRows lists up to limit task-table entries (lineage) in ID order, and
// the table's size.
func (s *Shard) TaskRows(limit int) ([]transport.TaskSpec, int) {
	ids := make([]transport.TaskID, 0, s.tasks.Len())
	for id := range s.tasks.Keys() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]transport.TaskSpec, 0, min(limit, len(ids)))
	for _, id := range ids[:min(limit, len(ids))] {
		if spec, ok := s.task(id); ok {
			out = append(out, *spec)
		}
	}
	return out, len(ids)
}

// ActorRows lists the actor table in ID order, the dead actors' entries
// flushed to the store included.
func (s *Shard) ActorRows() []transport.ActorInfo {
	out := make([]transport.ActorInfo, 0, len(s.actors)+s.flushedActors)
	s.eachActor(func(_ transport.ActorID, e *actorEntry) { out = append(out, e.info) })
	slices.SortFunc(out, func(a, b transport.ActorInfo) int { return cmp.Compare(a.Actor, b.Actor) })
	return out
}

// NodeRow is one row of the node table.
type NodeRow struct {
	Node        transport.NodeID
	Incarnation uint64
	Total       transport.Resources
	Available   transport.Resources
	QueueLen    uint32
	LastSeen    time.Time // on the shard's monotonic clock: for ages (Since)
	Alive       bool
}

// NodeRows lists the node table in registration order.
func (s *Shard) NodeRows() []NodeRow {
	out := make([]NodeRow, 0, len(s.nodeIDs))
	for _, id := range s.nodeIDs {
		e := s.nodes[id]
		if e == nil {
			continue
		}
		out = append(out, NodeRow{Node: id, Incarnation: e.reg.Incarnation, Total: e.reg.Total,
			Available: e.last.Available, QueueLen: e.last.QueueLen, LastSeen: e.lastSeen, Alive: e.alive})
	}
	return out
}
