package netsim

import (
	"testing"
	"time"
)

// Crash stops the node's coroutines, but when it is called from a
// coroutine (of another node) they are only queued, and unwound once the
// event is over. Restart called from such a coroutine starts the new
// incarnation at once, so the old incarnation's coroutines unwind after
// it: their deferred calls run with the node up, as the new incarnation —
// a timer the old code sets while unwinding fires in the new incarnation
// (a timer of a crashed node firing after its restart), and a message it
// sends goes out from it. Right: the old incarnation's coroutines have
// unwound, with the node down, before the new one starts, as when the
// harness calls Restart.
func TestRestartFromAnotherCoroutineUnwindsTheOldFirst(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	addRecorders(s, 1)
	starts := 0
	fired := false
	s.AddNode(2, func(n *Node) Handler {
		starts++
		if starts == 1 {
			n.Go(func() {
				defer func() {
					n.After(time.Millisecond, func() { fired = true })
				}()
				n.Await(func(func()) {})
			})
		}
		return nil
	})
	s.Node(1).Go(func() { s.Restart(2) })
	s.Run()
	if n := s.Node(2); !n.Alive() || n.Incarnation() != 2 {
		t.Fatalf("node 2 after Restart: alive=%v incarnation=%d", n.Alive(), n.Incarnation())
	}
	if fired {
		t.Fatalf("a timer set by the old incarnation's coroutine while it unwound fired in the new incarnation")
	}
}
