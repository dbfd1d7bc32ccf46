package deploy

import (
	"math"
	"testing"

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
	book    []transport.BookEntry
	control []*transport.NodeControl
}

func (l *recLocal) Book(es []transport.BookEntry)    { l.book = es }
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
