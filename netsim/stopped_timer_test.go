package netsim

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// TestStoppedTimerLetsGoOfItsCallback: a stopped timer stays queued until
// its time (the queue drops it lazily), and its item held the callback:
// a driver looping on GetTimeout(ref, time.Hour) kept every Get's state
// (its values) for an hour of virtual time, which a run of seconds never
// reaches. Stop now lets go of the callback at once; a timer that fires
// still runs it.
func TestStoppedTimerLetsGoOfItsCallback(t *testing.T) {
	type state struct{ b [1 << 20]byte }
	s := New(Config{})
	defer s.Close()
	addRecorders(s, 1)
	n := s.Node(1)
	var held weak.Pointer[state]
	func() {
		st := &state{}
		held = weak.Make(st)
		n.After(time.Hour, func() { st.b[0]++ }).Stop()
	}()
	fired := false
	n.After(time.Millisecond, func() { fired = true })
	s.RunUntil(time.Second)
	if !fired {
		t.Fatal("a timer that was not stopped did not fire")
	}
	for range 3 {
		runtime.GC()
	}
	if held.Value() != nil {
		t.Fatal("a stopped timer's callback is still held an hour of virtual time before its item leaves the queue")
	}
}
