package deploy

import (
	"math"
	"testing"

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
