package replay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestStateDropAtSendKeepsOldest: netsim drops a message lost to the
// network (loss, a partition, a down destination) at the instant it is
// sent, right after its net.send record. Time travel's in-flight table took
// every drop off the front of the link's queue, so such a drop removed the
// oldest message still in flight instead of the one just sent: the table's
// "oldest send time" jumped forward to the lost message's (and every later
// delivery was matched one message off). The drop at the send instant
// must remove the message just sent, as the Chrome export's dropPull does.
func TestStateDropAtSendKeepsOldest(t *testing.T) {
	s := newNetState()
	net := func(at time.Duration, k netsim.EventKind, detail string) *traces.Record {
		return &traces.Record{At: at, Source: traces.Net, Kind: uint8(k), Node: 1, Peer: 2,
			Msg: transport.KindPullRequest, Bytes: 10, Detail: detail}
	}
	s.add(net(1*time.Millisecond, netsim.EvSend, ""))              // in flight
	s.add(net(2*time.Millisecond, netsim.EvSend, ""))              // sent ...
	s.add(net(2*time.Millisecond, netsim.EvDrop, netsim.DropLoss)) // ... and lost at once
	key := linkKey{1, 2, transport.KindPullRequest}
	assert.Equal(t, []time.Duration{1 * time.Millisecond}, s.pending[key],
		"the message sent at 1ms is still in flight; the one lost at 2ms is not")
}
