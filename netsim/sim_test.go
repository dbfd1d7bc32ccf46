package netsim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---- a randomized gossip workload with faults, for determinism ----

type gossip struct {
	n     *Node
	peers []NodeID
	seen  int
}

func (g *gossip) Deliver(from NodeID, payload any) {
	g.seen++
	hops := payload.(int)
	g.n.Charge(time.Duration(g.n.Rand().IntN(50)) * time.Microsecond)
	if hops > 0 && g.n.Rand().Float64() < 0.7 {
		to := g.peers[g.n.Rand().IntN(len(g.peers))]
		g.n.Send(to, hops-1, int64(100+g.n.Rand().IntN(2000)))
	}
}

func runGossip(seed int64) (uint64, uint64) {
	const nodes = 8
	s := New(Config{Seed: seed, Link: Link{
		Latency:   LogNormal(2*time.Millisecond, time.Millisecond),
		Jitter:    500 * time.Microsecond,
		Bandwidth: 10e6,
		Loss:      0.02, Duplicate: 0.02, Reorder: 0.01,
	}})
	defer s.Close()
	var ids []NodeID
	for i := 1; i <= nodes; i++ {
		ids = append(ids, NodeID(i))
	}
	for _, id := range ids {
		s.AddNode(id, func(n *Node) Handler {
			g := &gossip{n: n, peers: ids}
			var tick func()
			tick = func() {
				n.Send(ids[n.Rand().IntN(nodes)], 5, 64)
				n.After(time.Duration(1+n.Rand().IntN(20))*time.Millisecond, tick)
			}
			n.After(time.Millisecond, tick)
			n.Go(func() {
				for {
					n.Await(func(wake func()) { n.After(3*time.Millisecond, wake) })
					n.Send(ids[n.Rand().IntN(nodes)], 2, 10)
				}
			})
			return g
		})
	}
	// A fault schedule drawn from the seed.
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	for i := 0; i < 30; i++ {
		at := time.Duration(r.Int64N(int64(time.Second)))
		id := ids[r.IntN(nodes)]
		switch r.IntN(6) {
		case 0:
			s.At(at, func() { s.Crash(id) })
			s.At(at+50*time.Millisecond, func() { s.Restart(id) })
		case 1:
			s.At(at, func() { s.Partition(ids[:3], ids[3:]) })
			s.At(at+80*time.Millisecond, s.Heal)
		case 2:
			s.At(at, func() { s.Pause(id, 20*time.Millisecond) })
		case 3:
			s.At(at, func() { s.Degrade(id, ids[0], 5*time.Millisecond, 0.2) })
			s.At(at+100*time.Millisecond, func() { s.Restore(id, ids[0]) })
		case 4:
			s.At(at, func() { s.SetSkew(id, time.Duration(r.Int64N(1000))*time.Millisecond) })
		case 5:
			s.At(at, func() { s.Cut(id, ids[0]) })
		}
	}
	s.RunUntil(time.Second)
	return s.Digest(), s.Logged()
}

func TestDeterminismAcrossGOMAXPROCS(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	d1, n1 := runGossip(42)
	runtime.GOMAXPROCS(4)
	d4, n4 := runGossip(42)
	require.Greater(t, n1, uint64(10000), "workload too small to mean anything")
	assert.Equal(t, n1, n4)
	assert.Equal(t, d1, d4, "same seed, different digest")
	d2, _ := runGossip(43)
	assert.NotEqual(t, d1, d2, "different seeds, same digest")
}

// ---- basics ----

type recorder struct {
	n   *Node
	got []recv
}

type recv struct {
	at   time.Duration
	from NodeID
	msg  any
}

func (r *recorder) Deliver(from NodeID, payload any) {
	r.got = append(r.got, recv{at: r.n.Sim().Now(), from: from, msg: payload})
}

func addRecorders(s *Sim, ids ...NodeID) map[NodeID]*recorder {
	recs := map[NodeID]*recorder{}
	for _, id := range ids {
		s.AddNode(id, func(n *Node) Handler {
			r := &recorder{n: n}
			recs[id] = r
			return r
		})
	}
	return recs
}

func TestLatencyAndBandwidth(t *testing.T) {
	s := New(Config{Link: Link{Latency: Constant(time.Millisecond), Bandwidth: 1e6}})
	recs := addRecorders(s, 1, 2)
	a := s.Node(1)
	a.Send(2, "x", 1000) // 1ms on the wire + 1ms latency
	a.Send(2, "y", 1000) // queued behind x: starts at 1ms
	s.Run()
	got := recs[2].got
	require.Len(t, got, 2)
	assert.Equal(t, 2*time.Millisecond, got[0].at)
	assert.Equal(t, 3*time.Millisecond, got[1].at)
	assert.Equal(t, []NodeID{1, 2}, s.Nodes())
	assert.Nil(t, s.Node(9))
}

func TestNodeClockAndRand(t *testing.T) {
	s := New(Config{Seed: 5})
	n := s.AddNode(1, nil)
	assert.Equal(t, DefaultEpoch, n.Now())
	s.SetSkew(1, time.Second)
	s.RunUntil(time.Minute)
	assert.Equal(t, DefaultEpoch.Add(time.Minute+time.Second), n.Now())
	x := n.Rand().Uint64()
	s.Restart(1)
	assert.Equal(t, uint64(2), n.Incarnation())
	assert.NotEqual(t, x, n.Rand().Uint64())
	s2 := New(Config{Seed: 5})
	assert.Equal(t, x, s2.AddNode(1, nil).Rand().Uint64(), "rand stream is (seed, id, incarnation)")
}

func TestEmitDoesNotAllocate(t *testing.T) {
	s := New(Config{Link: Link{Latency: Uniform(time.Millisecond, 2*time.Millisecond)}})
	addRecorders(s, 1)
	s.AddNode(2, func(*Node) Handler { return nopHandler{} })
	a := s.Node(1)
	var p any = &struct{}{}
	for i := 0; i < 1000; i++ { // grow the slab and buckets
		a.Send(2, p, 10)
	}
	s.Run()
	allocs := testing.AllocsPerRun(1000, func() {
		a.Send(2, p, 10)
		s.Step()
		s.Emit(EvCustom, 1, "mark")
	})
	assert.Zero(t, allocs)
}

func TestOnEventSeesEveryEvent(t *testing.T) {
	var kinds []EventKind
	s := New(Config{OnEvent: func(ev *Event) { kinds = append(kinds, ev.Kind) }})
	addRecorders(s, 1, 2)
	s.Node(1).Send(2, 1, 1)
	s.Node(1).After(time.Second, func() {})
	s.Run()
	s.Crash(2)
	s.Node(1).Send(2, 1, 1)
	s.Emit(EvCustom, 1, "x")
	assert.Equal(t, []EventKind{EvSend, EvDeliver, EvTimer, EvCrash, EvSend, EvDrop, EvCustom}, kinds)
	assert.Equal(t, "deliver", EvDeliver.String())
	assert.Equal(t, "custom", EvCustom.String())
}

func TestOnDropSeesDropsFirst(t *testing.T) {
	var log []string
	s := New(Config{
		OnEvent: func(ev *Event) { log = append(log, "event:"+ev.Kind.String()) },
		OnDrop:  func(ev *Event) { log = append(log, "drop:"+ev.Detail) },
	})
	addRecorders(s, 1, 2)
	s.Node(1).Send(2, 1, 1)
	s.Run()
	s.Crash(2)
	s.Node(1).Send(2, 1, 1)
	assert.Equal(t, []string{"event:send", "event:deliver", "event:crash", "event:send",
		"drop:" + DropCrashed, "event:drop"}, log)

	var drops []EventKind
	s2 := New(Config{OnDrop: func(ev *Event) { drops = append(drops, ev.Kind) }})
	addRecorders(s2, 1, 2)
	s2.Partition([]NodeID{1}, []NodeID{2})
	s2.Node(1).Send(2, 1, 1)
	s2.Heal()
	s2.Node(1).Send(2, 1, 1)
	s2.Run()
	assert.Equal(t, []EventKind{EvDrop}, drops, "OnDrop alone sees only drops")
}

func TestRunUntilStopAndPending(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	fired := 0
	for i := 1; i <= 10; i++ {
		n.After(time.Duration(i)*time.Second, func() { fired++ })
	}
	tm := n.After(5500*time.Millisecond, func() { t.Error("stopped timer fired") })
	assert.Equal(t, 11, s.Pending())
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop())
	assert.Equal(t, 10, s.Pending())
	s.RunUntil(3 * time.Second)
	assert.Equal(t, 3, fired)
	assert.Equal(t, 3*time.Second, s.Now())
	s.At(4*time.Second, s.Stop)
	s.Run()
	assert.Equal(t, 4, fired)
	s.RunWhile(func() bool { return fired < 6 })
	assert.Equal(t, 6, fired)
	s.Run()
	assert.Equal(t, 10, fired)
	assert.Zero(t, s.Pending())
	assert.False(t, s.Step())
	st := s.Stats()
	assert.Equal(t, 10*time.Second, st.Virtual)
	assert.Equal(t, uint64(11), st.Events) // 10 timers + the Stop event
}

func TestFarFutureAndPastEvents(t *testing.T) {
	s := New(Config{})
	var order []int
	s.At(10*time.Hour, func() { order = append(order, 3) })
	s.At(2*time.Second, func() { order = append(order, 2) })
	s.At(time.Microsecond, func() {
		order = append(order, 1)
		s.At(0, func() { order = append(order, 11) }) // past: runs now, after
	})
	s.Run()
	assert.Equal(t, []int{1, 11, 2, 3}, order)
	assert.Equal(t, 10*time.Hour, s.Now())
}

// ---- Dist ----

func TestDistSampleMeans(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		d    Dist
		mean time.Duration
		sd   time.Duration
	}{
		{"constant", Constant(3 * ms), 3 * ms, 0},
		{"uniform", Uniform(ms, 5*ms), 3 * ms, 0},
		{"normal", Normal(10*ms, 2*ms), 10 * ms, 2 * ms},
		{"lognormal", LogNormal(10*ms, 5*ms), 10 * ms, 5 * ms},
		{"exponential", Exponential(4 * ms), 4 * ms, 4 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 100000
			var sum, sum2 float64
			for i := 0; i < n; i++ {
				v := tc.d.Sample(r)
				require.GreaterOrEqual(t, v, time.Duration(0))
				if tc.d.Kind == DistUniform {
					require.True(t, v >= ms && v < 5*ms)
				}
				sum += float64(v)
				sum2 += float64(v) * float64(v)
			}
			mean := sum / n
			sd := math.Sqrt(sum2/n - mean*mean)
			assert.InEpsilon(t, float64(tc.mean), mean, 0.02, "mean")
			if tc.sd > 0 {
				assert.InEpsilon(t, float64(tc.sd), sd, 0.05, "stddev")
			}
		})
	}
	assert.Equal(t, time.Duration(0), Normal(0, 10*ms).clamp(-5))
}

// ---- coroutines ----

func TestCoroutineAwaitOrder(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	var log []string
	sleep := func(d time.Duration) { n.Await(func(wake func()) { n.After(d, wake) }) }
	n.Go(func() {
		log = append(log, "a0")
		sleep(2 * time.Millisecond)
		log = append(log, "a2")
		n.Await(func(wake func()) { wake() }) // wake inside register: yield once
		log = append(log, "a2'")
	})
	n.Go(func() {
		log = append(log, "b0")
		sleep(time.Millisecond)
		log = append(log, "b1")
		sleep(5 * time.Millisecond)
		log = append(log, "b6")
	})
	s.At(0, func() { log = append(log, "h0") })
	s.Run()
	assert.Equal(t, []string{"a0", "b0", "h0", "b1", "a2", "a2'", "b6"}, log)
	assert.Equal(t, 6*time.Millisecond, s.Now())
	s.Close()
}

// AwaitInline does not suspend when register wakes at once; a wake kept
// from that call and called later resumes nothing (the coroutine is not
// suspended on it), and a wake called after register suspends and resumes.
func TestAwaitInline(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	var log []string
	var kept func()
	n.Go(func() {
		inline := n.AwaitInline(func(wake func()) { kept = wake; wake(); wake() })
		log = append(log, fmt.Sprintf("a inline=%v at %v", inline, s.Now()))
		inline = n.AwaitInline(func(wake func()) { n.After(time.Millisecond, wake) })
		log = append(log, fmt.Sprintf("a inline=%v at %v", inline, s.Now()))
		n.Await(func(wake func()) { n.After(time.Millisecond, wake) })
		log = append(log, fmt.Sprintf("a at %v", s.Now()))
	})
	n.Go(func() {
		log = append(log, "b")
		kept() // stale: must not resume the first coroutine early
	})
	s.Run()
	assert.Equal(t, []string{"a inline=true at 0s", "b", "a inline=false at 1ms", "a at 2ms"}, log)
	s.Close()
}

func TestCoroutineCrashAndCloseNoLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	s := New(Config{})
	n := s.AddNode(1, nil)
	m := s.AddNode(2, nil)
	unwound, after := 0, 0
	for i := 0; i < 10; i++ {
		n.Go(func() {
			defer func() { unwound++ }()
			n.Await(func(wake func()) {}) // forever
			after++
		})
		m.Go(func() {
			defer func() { unwound++ }()
			m.Await(func(wake func()) { m.After(time.Hour, wake) })
			after++
		})
	}
	n.Go(func() { s.Crash(2) }) // crash another node from a coroutine
	n.Go(func() {
		defer func() { unwound++ }()
		s.Crash(1) // own node: does not return
		after++
	})
	s.Run()
	assert.Equal(t, 21, unwound)
	assert.Zero(t, after)
	s.Restart(1)
	n.Go(func() { n.Await(func(func()) {}) })
	s.Run()
	s.Close()
	assertNoLeak(t, base)
}

func TestCoroutinePanicReraised(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	n.Go(func() { panic("boom") })
	defer s.Close()
	defer func() {
		r := recover()
		p, ok := r.(*CoroutinePanic)
		require.True(t, ok, "got %v", r)
		assert.Equal(t, "boom", p.Value)
	}()
	s.Run()
}

func TestAwaitOutsideCoroutinePanics(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	assert.Panics(t, func() { n.Await(func(func()) {}) })
}

func TestPauseDefersCoroutineAndTimers(t *testing.T) {
	s := New(Config{})
	n := s.AddNode(1, nil)
	var at []time.Duration
	n.After(time.Millisecond, func() { at = append(at, s.Now()) })
	n.Go(func() {
		n.Await(func(wake func()) { s.After(2*time.Millisecond, wake) })
		at = append(at, s.Now())
	})
	s.Pause(1, 10*time.Millisecond)
	s.Run()
	// The coroutine starts when the pause ends (10ms), then sleeps 2ms.
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 12 * time.Millisecond}, at)
	assert.True(t, slices.IsSorted(at))
}

// assertNoLeak waits briefly for goroutines to exit (no testify Eventually:
// it runs the condition on goroutines of its own).
func assertNoLeak(t *testing.T, base int) {
	t.Helper()
	for i := 0; i < 200 && runtime.NumGoroutine() > base; i++ {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutine leak: %d > %d\n%s", g, base, buf[:runtime.Stack(buf, true)])
	}
}

// RunUntil(t) runs no event after t, even when a stopped timer is the last
// item due by t.
func TestRunUntilStopsAtStoppedTimer(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	n := s.AddNode(1, nil)
	tm := n.After(5*time.Millisecond, func() {})
	ran := false
	s.At(20*time.Millisecond, func() { ran = true })
	tm.Stop()
	s.RunUntil(10 * time.Millisecond)
	if ran || s.Now() != 10*time.Millisecond {
		t.Fatalf("after RunUntil(10ms): the 20ms event ran=%v, Now %v", ran, s.Now())
	}
	s.Run()
	if !ran {
		t.Fatal("the 20ms event never ran")
	}
}

// TestItemIs48Bytes: the queue moves and sorts items by the million; at 56
// bytes (the sender's incarnation and departure time in fields of their
// own) the 100-node benchmark ran ~10% slower.
func TestItemIs48Bytes(t *testing.T) {
	if n := unsafe.Sizeof(item{}); n != 48 {
		t.Fatalf("item is %d bytes, want 48", n)
	}
}

// TestItemLeftSaturates: a delivery keeps its departure as a distance
// from its arrival in 32 bits; past ~4.3s it reads as long ago, never later
// than it was (a first version read at-4.3s: a crash after a message with
// 10s to travel had left dropped it as unsent).
func TestItemLeftSaturates(t *testing.T) {
	var it item
	it.at = 10 * int64(time.Second)
	it.setLeft(it.at - int64(time.Second))
	if got := it.left(); got != 9*int64(time.Second) {
		t.Fatalf("left %v, want 9s", time.Duration(got))
	}
	it.setLeft(0)
	if got := it.left(); got > 0 {
		t.Fatalf("left %v for a departure at 0: later than it was", time.Duration(got))
	}
	it.set(itemDeliver, 1<<24-1)
	it.incs = 0xfffe | 7<<16
	if it.kind() != itemDeliver || it.node() != 1<<24-1 || it.dinc() != 0xfffe || it.sinc() != 7 {
		t.Fatalf("packed fields: kind %d node %d dinc %d sinc %d", it.kind(), it.node(), it.dinc(), it.sinc())
	}
}

type quietHandler struct{}

func (quietHandler) Deliver(NodeID, any) {}

// TestLongFlightSurvivesSenderCrash: a message that left its sender and has
// 10s to travel is delivered though the sender crashes on the way.
func TestLongFlightSurvivesSenderCrash(t *testing.T) {
	var delivered, unsent int
	s := New(Config{Seed: 1, OnEvent: func(ev *Event) {
		switch {
		case ev.Kind == EvDeliver:
			delivered++
		case ev.Kind == EvDrop && ev.Detail == DropUnsent:
			unsent++
		}
	}})
	defer s.Close()
	a := s.AddNode(1, func(*Node) Handler { return quietHandler{} })
	s.AddNode(2, func(*Node) Handler { return quietHandler{} })
	s.Degrade(1, 2, 10*time.Second, 0)
	a.Send(2, "m", 100) // leaves at 0, arrives at 10s
	s.At(time.Second, func() { s.Crash(1) })
	s.Run()
	if delivered != 1 || unsent != 0 {
		t.Fatalf("delivered %d, dropped as unsent %d; want it delivered", delivered, unsent)
	}
}

// TestRetimedDeliveryIsNoEvent: the item a bandwidth change replaced (the
// message's old delivery) neither moves virtual time nor counts as an event.
func TestRetimedDeliveryIsNoEvent(t *testing.T) {
	var last time.Duration
	s := New(Config{Seed: 1, OnEvent: func(ev *Event) { last = ev.At }})
	defer s.Close()
	a := s.AddNode(1, nil)
	s.AddNode(2, nil)
	id := s.DegradeWith(1, 2, Degradation{Bandwidth: 1}) // 1 B/s
	a.Send(2, "m", 1000)                                 // ~1000s to transmit
	s.At(time.Second, func() { s.RestoreDegradation(1, 2, id) })
	s.Run()
	if last > 2*time.Second {
		t.Fatalf("last event at %v; want the re-timed delivery at ~1s", last)
	}
	if s.Now() != last {
		t.Errorf("Now() = %v after Run, last event at %v", s.Now(), last)
	}
	if st := s.Stats(); st.Events != 2 { // the harness event and the delivery
		t.Errorf("Stats.Events = %d; want 2", st.Events)
	}
}
