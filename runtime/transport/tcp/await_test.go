package tcp

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestAwaitStaleWakeIgnored: an awaiter is reused from one Await to the
// next, and a wake of its earlier use (called again, as the Env contract
// allows) must not wake the later one.
func TestAwaitStaleWakeIgnored(t *testing.T) {
	h := listen(t, 1, "127.0.0.1:0", token)
	envc := make(chan transport.Env, 1)
	run(t, h, func(env transport.Env) transport.Handler {
		envc <- env
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	env := <-envc
	var first, second func()
	firstDone, secondDone := make(chan struct{}), make(chan struct{})
	go func() {
		env.Await(func(wake func()) { first = wake; wake() })
		close(firstDone)
		env.Await(func(wake func()) { second = wake })
		close(secondDone)
	}()
	waitDone(t, "first await", firstDone)
	// The second Await is registered once the loop has run its item: poll
	// on the loop until it has (no wall-clock bound beyond the guard).
	require.Eventually(t, func() bool {
		var n int
		require.True(t, h.Do(func() { n = len(h.awaiting) }))
		return n == 1
	}, guard, time.Millisecond)
	require.True(t, h.Do(func() {
		first() // stale: the first use's wake, called again
		assert.Len(t, h.awaiting, 1, "a stale wake released the second Await")
		assert.Empty(t, h.awaiting[0].ch, "a stale wake woke the second Await")
		second()
		second()
		assert.Empty(t, h.awaiting)
	}))
	waitDone(t, "second await", secondDone)
}

// TestAwaitEndsWithLoop: an Await still registered when the loop stops,
// and one made after it stopped, end their goroutines (runtime.Goexit,
// deferred calls run) instead of returning or hanging.
func TestAwaitEndsWithLoop(t *testing.T) {
	h := listen(t, 1, "127.0.0.1:0", token)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	envc := make(chan transport.Env, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- h.Run(ctx, func(env transport.Env) transport.Handler {
			envc <- env
			return handlerFunc(func(transport.NodeID, transport.Message) {})
		})
	}()
	env := <-envc
	awaitIn := func(registered chan<- struct{}) (exited <-chan struct{}, returned *bool) {
		ex := make(chan struct{})
		ret := new(bool)
		go func() {
			defer close(ex)
			env.Await(func(func()) {
				if registered != nil {
					close(registered)
				}
			})
			*ret = true
		}()
		return ex, ret
	}
	registered := make(chan struct{})
	exited, returned := awaitIn(registered)
	waitDone(t, "registration", registered)
	cancel()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(guard):
		t.Fatal("Run did not return")
	}
	waitDone(t, "the registered Await's goroutine", exited)
	assert.False(t, *returned, "Await returned without its wake")

	late, lateReturned := awaitIn(nil)
	waitDone(t, "the late Await's goroutine", late)
	assert.False(t, *lateReturned, "Await after the loop stopped returned")
}
