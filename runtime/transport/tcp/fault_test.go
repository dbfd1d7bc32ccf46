package tcp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestLinkFaults: a partitioned link holds frames (none delivered while it
// is down) and delivers them all, in order, once healed; delay and loss
// keep order and lose nothing.
func TestLinkFaults(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	b := listen(t, 2, "127.0.0.1:0", token)
	meshed(t, a, b)
	got := make(chan uint64, 1024)
	var envA transport.Env
	ready := make(chan struct{})
	run(t, a, func(env transport.Env) transport.Handler {
		envA = env
		close(ready)
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	run(t, b, func(env transport.Env) transport.Handler {
		return handlerFunc(func(from transport.NodeID, m transport.Message) {
			if p, ok := m.(*transport.Ping); ok {
				got <- p.Seq
			}
		})
	})
	waitDone(t, "a's loop", ready)
	send := func(from, to uint64) {
		envA.Await(func(wake func()) {
			for i := from; i < to; i++ {
				envA.Send(2, &transport.Ping{Seq: i})
			}
			wake()
		})
	}
	expect := func(from, to uint64) {
		t.Helper()
		for i := from; i < to; i++ {
			select {
			case s := <-got:
				require.Equal(t, i, s, "frames out of order")
			case <-time.After(guard):
				t.Fatalf("frame %d never delivered", i)
			}
		}
	}

	send(0, 10)
	expect(0, 10)

	b.SetLinkFault(1, LinkFault{Down: true})
	assert.Equal(t, map[transport.NodeID]LinkFault{1: {Down: true}}, b.LinkFaults())
	send(10, 20)
	select {
	case s := <-got:
		t.Fatalf("frame %d delivered across a partition", s)
	case <-time.After(100 * time.Millisecond):
	}
	b.ClearLinkFaults()
	expect(10, 20)

	b.SetLinkFault(1, LinkFault{Delay: 2 * time.Millisecond, Loss: 0.05})
	send(20, 60)
	expect(20, 60)
	b.SetLinkFault(1, LinkFault{})
	assert.Empty(t, b.LinkFaults())
	send(60, 70)
	expect(60, 70)
}
