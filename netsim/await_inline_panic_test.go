package netsim

import (
	"testing"
	"time"
)

// A panic in AwaitInline's register that the coroutine recovers must not
// leave the coroutine marked inside: its next Yield would never resume.
func TestAwaitInlinePanicInRegister(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	done := false
	n.Go(func() {
		func() {
			defer func() { recover() }()
			n.AwaitInline(func(wake func()) { panic("register failed") })
		}()
		n.Yield()
		n.Await(func(wake func()) { n.After(time.Millisecond, wake) })
		done = true
	})
	s.Run()
	if !done {
		t.Fatal("the coroutine never resumed after a recovered panic in register")
	}
	s.Close()
}
