package tcp

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestClosedHostLetsGoOfItsTimers: a timer's callback was held by the Go
// runtime until it fired, whatever the host: a closed host's pending
// timers (a lease's, a pull's stall timer, a Get's timeout) kept its
// component and all it pointed to for their duration. A process that ran
// TCP clusters one after another (tests, sweeps) kept ~17 MB per closed
// 3-node cluster. The loop now stops its pending timers as it ends.
func TestClosedHostLetsGoOfItsTimers(t *testing.T) {
	type state struct{ b [1 << 20]byte }
	h := listen(t, 1, "127.0.0.1:0", token)
	var held weak.Pointer[state]
	ready := make(chan struct{})
	errc := run(t, h, func(env transport.Env) transport.Handler {
		s := &state{}
		held = weak.Make(s)
		env.After(time.Hour, func() { s.b[0]++ }) // pending when the host closes
		env.After(time.Hour, func() {}).Stop()
		env.After(0, func() { close(ready) })
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	waitDone(t, "the timer that fires", ready)
	require.NoError(t, h.Close())
	select {
	case <-errc:
	case <-time.After(guard):
		t.Fatal("Run did not return after Close")
	}
	require.Empty(t, h.timers, "timers fired, stopped or ended stay listed")
	for range 3 {
		runtime.GC()
	}
	require.True(t, held.Value() == nil, "a closed host's pending timer still holds its component's state")
}
