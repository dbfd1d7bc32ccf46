package deploy

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
)

type nopHandler struct{}

func (nopHandler) Handle(transport.NodeID, transport.Message) {}

// TestAddressBookOnlyFromCoordinator: an endpoint keeps the book with the
// highest epoch; one with epoch 2^64-1 from any peer froze its addresses
// for good (found in a hostile-input audit). Only the coordinator's count.
func TestAddressBookOnlyFromCoordinator(t *testing.T) {
	e := &Endpoint{Handler: nopHandler{}, Layout: &gcs.Layout{}}
	e.Handle(7, &transport.AddressBook{Epoch: math.MaxUint64, Entries: []transport.BookEntry{{Node: 666, Role: transport.RoleNode}}})
	e.Handle(CoordinatorID, &transport.AddressBook{Epoch: 1, Entries: []transport.BookEntry{{Node: 5, Role: transport.RoleNode}}})
	require.Equal(t, []transport.NodeID{5}, e.Layout.Raylets)
}

// recLocal records what an agent hands its process.
type recLocal struct {
	epoch   uint64
	books   int // Book calls
	book    []transport.BookEntry
	control []*transport.NodeControl
}

func (l *recLocal) Book(epoch uint64, es []transport.BookEntry) {
	l.epoch, l.book = epoch, es
	l.books++
}
func (l *recLocal) Control(m *transport.NodeControl) { l.control = append(l.control, m) }
func (l *recLocal) LinkFault(*transport.LinkFault)   {}
func (l *recLocal) Trace(transport.NodeID, bool)     {}

// TestAgentTakesCoordinatorOnly: 90bfb7a made an Endpoint take address
// books from the coordinator only, but a process's Agent still takes an
// AddressBook (and NodeControl, LinkFault, TraceSubscribe) from any peer:
// a book with epoch 2^64-1 from a raylet freezes the agent's book (the one
// a restarted raylet starts from), and a NodeControl kills the raylet.
// TestAgentTakesCoordinatorOnly: a process's agent acted on address books,
// node controls, link faults and trace subscriptions from any peer: a
// book with epoch 2^64-1 froze its addresses, a NodeControl killed its
// raylet (found in review). Only the coordinator's count now.
func TestAgentTakesCoordinatorOnly(t *testing.T) {
	l := &recLocal{}
	a := NewAgent(nil, AgentConfig{Local: l})
	a.Handle(7, &transport.AddressBook{Epoch: math.MaxUint64, Entries: []transport.BookEntry{{Node: 666, Role: transport.RoleNode}}})
	a.Handle(CoordinatorID, &transport.AddressBook{Epoch: 1, Entries: []transport.BookEntry{{Node: 5, Role: transport.RoleNode}}})
	assert.Equal(t, []transport.BookEntry{{Node: 5, Role: transport.RoleNode}}, l.book, "the coordinator's book is the one kept")
	a.Handle(7, &transport.NodeControl{Op: transport.ControlKill, Node: 5})
	require.Empty(t, l.control, "a peer's NodeControl acted on")
}

// TestDirectoryTakesANodesReportFromItselfOnly: the head's directory (what
// `raysim status` shows) took any peer's RegisterNode or Heartbeat naming
// another node, so one peer could show a dead node alive with made-up load,
// or add rows for IDs no process holds; the GCS shard behind it ignores
// them (a node speaks for itself alone). Found by FuzzAgent's review.
func TestDirectoryTakesANodesReportFromItselfOnly(t *testing.T) {
	const node, other transport.NodeID = 3, 4
	d := NewDirectory(0)
	total := transport.Resources{CPU: 8}
	d.Tap(node, &transport.RegisterNode{Node: node, Incarnation: 1, Total: total})
	d.Event(&transport.Event{Kind: transport.EvNodeDead, Node: node})

	forged := []transport.Message{
		&transport.Heartbeat{Node: node, Incarnation: 1, Total: total, Available: total, QueueLen: 99},
		&transport.GcsRequest{Op: &transport.Heartbeat{Node: node, Incarnation: 2, Total: total, QueueLen: 99}},
		&transport.RegisterNode{Node: node, Incarnation: 5, Total: total},
		&transport.RegisterNode{Node: 77, Incarnation: 1, Total: total},
	}
	for _, m := range forged {
		d.Tap(other, m)
	}
	var s transport.NodeStatus
	s.Node = node
	d.status(&s, time.Now())
	assert.False(t, s.Alive, "a dead node shown alive by another's heartbeat")
	assert.Zero(t, s.QueueLen, "another's heartbeat set the node's load")
	assert.Equal(t, uint64(1), s.Incarnation)
	d.mu.Lock()
	_, made := d.nodes[77]
	d.mu.Unlock()
	assert.False(t, made, "a row for an ID only another peer named")

	d.Tap(node, &transport.Heartbeat{Node: node, Incarnation: 1, Total: total, QueueLen: 2})
	d.status(&s, time.Now())
	assert.True(t, s.Alive, "the node's own heartbeat")
	assert.Equal(t, 2, int(s.QueueLen))
}
