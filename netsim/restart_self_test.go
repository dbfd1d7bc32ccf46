package netsim

import (
	"testing"
)

// Restart promises a new incarnation ("Restarting a live node crashes it
// first"), but called from a coroutine of the node itself it never gets
// there: the Crash it starts with does not return to a coroutine of the
// crashed node (it unwinds it at once), so n.start is skipped and the node
// stays down for good. Right: the node comes back up as incarnation 2, and
// the old incarnation's coroutines unwind as for a Crash — their deferred
// calls run while the node is still down (a Send from them is dropped as
// "sender crashed"), before the new incarnation starts.
func TestRestartFromOwnCoroutine(t *testing.T) {
	var sends []string
	s := New(Config{OnEvent: func(ev *Event) {
		if ev.From == 1 && (ev.Kind == EvDrop || ev.Kind == EvSend) {
			sends = append(sends, ev.Kind.String()+":"+ev.Detail)
		}
	}})
	defer s.Close()
	addRecorders(s, 2)
	starts := 0
	aliveInDefer, otherAliveInDefer := true, true
	s.AddNode(1, func(n *Node) Handler {
		starts++
		if starts == 1 {
			n.Go(func() { // another coroutine of the old incarnation, waiting
				defer func() { otherAliveInDefer = n.Alive() }()
				n.Await(func(func()) {})
			})
			n.Go(func() {
				defer func() {
					aliveInDefer = n.Alive()
					n.Send(2, "from the old incarnation's unwinding", 1)
				}()
				s.Restart(1)
				t.Errorf("Restart returned to the restarted node's own coroutine")
			})
		}
		return nil
	})
	s.Run()
	n := s.Node(1)
	if !n.Alive() || n.Incarnation() != 2 || starts != 2 {
		t.Fatalf("after Restart(1) from its own coroutine: alive=%v incarnation=%d factory calls=%d; want alive, 2, 2",
			n.Alive(), n.Incarnation(), starts)
	}
	if aliveInDefer || otherAliveInDefer {
		t.Errorf("the old incarnation's deferred calls ran with the node up (as the new incarnation): restarting coroutine %v, other %v",
			aliveInDefer, otherAliveInDefer)
	}
	if len(sends) != 1 || sends[0] != "drop:"+DropSender {
		t.Errorf("the old incarnation's send while unwinding: %v; want one drop (%q)", sends, DropSender)
	}
}

type restartSelfOnDeliver struct {
	n     *Node
	fired *bool
}

func (h *restartSelfOnDeliver) Deliver(from NodeID, payload any) {
	h.n.Sim().Restart(h.n.ID())
	h.n.After(0, func() { *h.fired = true })
}

// The same from the node's own handler: Restart starts the new incarnation
// at once, and the old handler's code after it runs as the new
// incarnation — the timer it sets fires in the new incarnation (a timer of
// the crashed incarnation firing after the restart). Right: as Crash from
// a handler, the rest of the old handler runs with the node down (its
// timers are dead, its sends dropped); the new incarnation starts once the
// handler has returned.
func TestRestartFromOwnHandler(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	addRecorders(s, 2)
	fired := false
	starts := 0
	s.AddNode(1, func(n *Node) Handler {
		starts++
		if starts == 1 {
			return &restartSelfOnDeliver{n: n, fired: &fired}
		}
		return nil
	})
	s.Node(2).Send(1, "reboot", 1)
	s.Run()
	if n := s.Node(1); !n.Alive() || n.Incarnation() != 2 || starts != 2 {
		t.Fatalf("after Restart(1) from its own handler: alive=%v incarnation=%d factory calls=%d; want alive, 2, 2",
			n.Alive(), n.Incarnation(), starts)
	}
	if fired {
		t.Fatalf("a timer the old incarnation's handler set after Restart fired in the new incarnation")
	}
}
