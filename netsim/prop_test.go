package netsim

import (
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Property tests. Each check is small (a few hundred events) so the default
// 100 checks per property run in well under a second.

type msg struct {
	from NodeID
	k    int           // per-link send counter
	sent time.Duration // virtual send time
}

type delivery struct {
	to   NodeID
	from NodeID
	at   time.Duration
	m    msg
	inc  uint64
}

// logHandler appends every delivery to a log shared across incarnations.
type logHandler struct {
	n   *Node
	log *[]delivery
}

func (h logHandler) Deliver(from NodeID, payload any) {
	*h.log = append(*h.log, delivery{to: h.n.ID(), from: from, at: h.n.Sim().Now(), m: payload.(msg), inc: h.n.Incarnation()})
}

func drawLatency(t *rapid.T) Dist {
	ms := time.Millisecond
	switch rapid.IntRange(0, 4).Draw(t, "distKind") {
	case 0:
		return Constant(time.Duration(rapid.IntRange(0, 5).Draw(t, "lat")) * ms)
	case 1:
		return Uniform(0, 5*ms)
	case 2:
		return Normal(2*ms, ms)
	case 3:
		return LogNormal(2*ms, 2*ms)
	default:
		return Exponential(2 * ms)
	}
}

func newLogSim(t *rapid.T, l Link, nodes int) (*Sim, *[]delivery) {
	s := New(Config{Seed: rapid.Int64().Draw(t, "seed"), Link: l})
	log := &[]delivery{}
	for i := 1; i <= nodes; i++ {
		s.AddNode(NodeID(i), func(n *Node) Handler { return logHandler{n: n, log: log} })
	}
	return s, log
}

// scheduleSends schedules count sends at random times in [0, span) over
// random links; sendOK may veto a send at its time. It returns the number
// of sends made per (from, to).
func scheduleSends(t *rapid.T, s *Sim, nodes, count int, span time.Duration) map[[2]NodeID]*int {
	sent := map[[2]NodeID]*int{}
	for i := 0; i < count; i++ {
		from := NodeID(rapid.IntRange(1, nodes).Draw(t, "from"))
		to := NodeID(rapid.IntRange(1, nodes).Draw(t, "to"))
		at := time.Duration(rapid.Int64Range(0, int64(span)).Draw(t, "at"))
		size := rapid.Int64Range(0, 5000).Draw(t, "size")
		key := [2]NodeID{from, to}
		if sent[key] == nil {
			sent[key] = new(int)
		}
		c := sent[key]
		s.At(at, func() {
			n := s.Node(from)
			if !n.Alive() {
				return
			}
			*c++
			n.Send(to, msg{from: from, k: *c, sent: s.Now()}, size)
		})
	}
	return sent
}

func TestPropFIFOWithoutReorder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := Link{
			Latency:   drawLatency(t),
			Jitter:    time.Duration(rapid.IntRange(0, 3).Draw(t, "jitter")) * time.Millisecond,
			Bandwidth: float64(rapid.SampledFrom([]int{0, 1e5, 1e7}).Draw(t, "bw")),
			Loss:      rapid.Float64Range(0, 0.3).Draw(t, "loss"),
			Duplicate: rapid.Float64Range(0, 0.3).Draw(t, "dup"),
		}
		nodes := rapid.IntRange(2, 4).Draw(t, "nodes")
		s, log := newLogSim(t, l, nodes)
		// Perturbations that must not break FIFO.
		s.At(5*time.Millisecond, func() { s.Degrade(1, 2, 3*time.Millisecond, 0.1) })
		s.At(15*time.Millisecond, func() { s.Restore(1, 2) })
		s.At(8*time.Millisecond, func() { s.Pause(2, 4*time.Millisecond) })
		s.At(9*time.Millisecond, func() { s.SetLink(2, 1, Link{Latency: Constant(0)}) })
		scheduleSends(t, s, nodes, rapid.IntRange(1, 200).Draw(t, "count"), 30*time.Millisecond)
		s.Run()
		last := map[[2]NodeID]int{}
		for _, d := range *log {
			key := [2]NodeID{d.from, d.to}
			if d.m.k < last[key] || (l.Duplicate == 0 && d.m.k == last[key]) {
				t.Fatalf("link %d->%d out of order: %d after %d", d.from, d.to, d.m.k, last[key])
			}
			last[key] = d.m.k
		}
	})
}

func TestPropReorderMayOvertake(t *testing.T) {
	// Sanity: with Reorder, some link does reorder (so FIFO above is not
	// vacuous), and nothing is lost.
	s := New(Config{Seed: 1, Link: Link{Latency: Constant(time.Millisecond), Reorder: 0.3}})
	var log []delivery
	s.AddNode(1, nil)
	s.AddNode(2, func(n *Node) Handler { return logHandler{n: n, log: &log} })
	for i := 1; i <= 1000; i++ {
		s.Node(1).Send(2, msg{k: i}, 1)
	}
	s.Run()
	if len(log) != 1000 {
		t.Fatalf("lost messages: %d", len(log))
	}
	if slices.IsSortedFunc(log, func(a, b delivery) int { return a.m.k - b.m.k }) {
		t.Fatal("Reorder 0.3 never reordered")
	}
}

func TestPropNothingCrossesPartition(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := rapid.IntRange(2, 5).Draw(t, "nodes")
		s, log := newLogSim(t, Link{Latency: drawLatency(t), Jitter: time.Millisecond}, nodes)
		group := map[NodeID]int{}
		groups := make([][]NodeID, 3)
		for i := 1; i <= nodes; i++ {
			g := rapid.IntRange(-1, 2).Draw(t, "group")
			group[NodeID(i)] = g
			if g >= 0 {
				groups[g] = append(groups[g], NodeID(i))
			}
		}
		cutFrom := NodeID(rapid.IntRange(1, nodes).Draw(t, "cutFrom"))
		cutTo := NodeID(rapid.IntRange(1, nodes).Draw(t, "cutTo"))
		s.Partition(groups...)
		s.Cut(cutFrom, cutTo)
		heal := time.Duration(rapid.Int64Range(0, int64(40*time.Millisecond)).Draw(t, "heal"))
		s.At(heal, s.Heal)
		blocked := func(a, b NodeID) bool {
			ga, gb := group[a], group[b]
			return (ga >= 0 && gb >= 0 && ga != gb) || (a == cutFrom && b == cutTo)
		}
		count := rapid.IntRange(1, 200).Draw(t, "count")
		scheduleSends(t, s, nodes, count, 50*time.Millisecond)
		sends, drops := 0, 0
		s.cfgHook(func(ev *Event) {
			switch ev.Kind {
			case EvSend:
				sends++
			case EvDrop:
				drops++
				if ev.Detail != DropPartition || !blocked(ev.From, ev.To) || ev.At > heal {
					t.Fatalf("unexpected drop %+v", *ev)
				}
			}
		})
		s.Run()
		for _, d := range *log {
			if blocked(d.from, d.to) && d.m.sent < heal {
				t.Fatalf("message %d->%d sent at %v crossed a partition healed at %v", d.from, d.to, d.m.sent, heal)
			}
		}
		// Liveness: on a loss-free network, everything not blocked arrives.
		if sends != count || len(*log) != sends-drops {
			t.Fatalf("sends %d (scheduled %d), drops %d, deliveries %d", sends, count, drops, len(*log))
		}
	})
}

func TestPropCrashedNodeReceivesNothing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := rapid.IntRange(2, 3).Draw(t, "nodes")
		s, log := newLogSim(t, Link{Latency: drawLatency(t), Jitter: time.Millisecond}, nodes)
		x := NodeID(rapid.IntRange(1, nodes).Draw(t, "victim"))
		crash := time.Duration(rapid.Int64Range(0, int64(20*time.Millisecond)).Draw(t, "crash"))
		restart := crash + time.Duration(rapid.Int64Range(0, int64(20*time.Millisecond)).Draw(t, "down"))
		s.At(crash, func() { s.Crash(x) })
		s.At(restart, func() { s.Restart(x) })
		type fire struct {
			setInc, inc uint64
			due, at     time.Duration
		}
		var fires []fire
		var dues []time.Duration // timers of incarnation 1
		for i := 0; i < rapid.IntRange(0, 30).Draw(t, "timers"); i++ {
			setAt := time.Duration(rapid.Int64Range(0, int64(40*time.Millisecond)).Draw(t, "setAt"))
			d := time.Duration(rapid.Int64Range(0, int64(20*time.Millisecond)).Draw(t, "d"))
			s.At(setAt, func() {
				n := s.Node(x)
				if !n.Alive() {
					return
				}
				inc := n.Incarnation()
				if inc == 1 {
					dues = append(dues, s.Now()+d)
				}
				due := s.Now() + d
				n.After(d, func() { fires = append(fires, fire{inc, n.Incarnation(), due, s.Now()}) })
			})
		}
		scheduleSends(t, s, nodes, rapid.IntRange(1, 150).Draw(t, "count"), 40*time.Millisecond)
		s.Run()
		for _, d := range *log {
			if d.to != x {
				continue
			}
			// Incarnation 1 receives only up to the crash; incarnation 2
			// only what was sent after the restart (in flight = dropped).
			if (d.inc == 1 && d.at > crash) || (d.inc == 2 && d.m.sent < restart) || d.inc > 2 {
				t.Fatalf("delivery to incarnation %d at %v (sent %v), down %v..%v", d.inc, d.at, d.m.sent, crash, restart)
			}
		}
		fired1 := 0
		for _, f := range fires {
			if f.setInc != f.inc {
				t.Fatalf("timer of incarnation %d fired in incarnation %d", f.setInc, f.inc)
			}
			if f.setInc == 1 {
				fired1++
				if f.at >= crash {
					t.Fatalf("timer fired at %v after the crash at %v", f.at, crash)
				}
			}
			if f.at != f.due {
				t.Fatalf("timer due %v fired at %v", f.due, f.at)
			}
		}
		want := 0
		for _, due := range dues {
			if due < crash {
				want++
			}
		}
		// Timers due exactly at the crash instant may run either side of it.
		if fired1 > want+countEq(dues, crash) || fired1 < want {
			t.Fatalf("incarnation-1 timers: fired %d, due before crash %d", fired1, want)
		}
	})
}

func countEq(xs []time.Duration, v time.Duration) int {
	c := 0
	for _, x := range xs {
		if x == v {
			c++
		}
	}
	return c
}

func TestPropLossAndDuplicationRates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		loss := rapid.Float64Range(0, 0.5).Draw(t, "loss")
		dup := rapid.Float64Range(0, 0.5).Draw(t, "dup")
		s := New(Config{Seed: rapid.Int64().Draw(t, "seed"), Link: Link{Latency: Constant(time.Millisecond), Loss: loss, Duplicate: dup}})
		got := 0
		s.AddNode(1, nil)
		s.AddNode(2, func(*Node) Handler { return handlerFunc(func(NodeID, any) { got++ }) })
		drops, dups := 0, 0
		s.cfgHook(func(ev *Event) {
			switch ev.Kind {
			case EvDrop:
				drops++
			case EvDuplicate:
				dups++
			}
		})
		const n = 4000
		for i := 0; i < n; i++ {
			s.Node(1).Send(2, nil, 1)
		}
		s.Run()
		within := func(what string, k, trials int, p float64) {
			sd := math.Sqrt(float64(trials) * p * (1 - p))
			if math.Abs(float64(k)-float64(trials)*p) > 6*sd+1 {
				t.Fatalf("%s: %d of %d, p=%v", what, k, trials, p)
			}
		}
		within("loss", drops, n, loss)
		within("duplication", dups, n-drops, dup)
		if got != n-drops+dups {
			t.Fatalf("delivered %d, want %d", got, n-drops+dups)
		}
	})
}

type handlerFunc func(from NodeID, payload any)

func (f handlerFunc) Deliver(from NodeID, payload any) { f(from, payload) }

// cfgHook installs an event hook after New (tests only).
func (s *Sim) cfgHook(f func(*Event)) { s.onEvent = f }

func TestPropTimersInTimeOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := New(Config{})
		nodes := rapid.IntRange(1, 3).Draw(t, "nodes")
		for i := 1; i <= nodes; i++ {
			s.AddNode(NodeID(i), nil)
		}
		type tm struct {
			due     time.Duration
			created int
		}
		var fired []tm
		var want []tm
		count := rapid.IntRange(0, 100).Draw(t, "count")
		timers := make([]Timer, count)
		for i := 0; i < count; i++ {
			d := time.Duration(rapid.IntRange(0, 5).Draw(t, "d")) * time.Millisecond
			n := s.Node(NodeID(rapid.IntRange(1, nodes).Draw(t, "node")))
			x := tm{d, i}
			timers[i] = n.After(d, func() { fired = append(fired, x) })
			want = append(want, x)
		}
		stopped := map[int]bool{}
		for _, i := range rapid.SliceOfDistinct(rapid.IntRange(0, max(count-1, 0)), rapid.ID).Draw(t, "stop") {
			if i < count {
				stopped[i] = true
				if !timers[i].Stop() {
					t.Fatal("Stop of a pending timer returned false")
				}
			}
		}
		want = slices.DeleteFunc(want, func(x tm) bool { return stopped[x.created] })
		slices.SortStableFunc(want, func(a, b tm) int { return int(a.due - b.due) })
		s.Run()
		if !slices.Equal(fired, want) {
			t.Fatalf("fired %v, want %v", fired, want)
		}
		for i := range timers {
			if timers[i].Stop() {
				t.Fatal("Stop after firing returned true")
			}
		}
	})
}

func TestPropChargeDelaysLaterDeliveries(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lat := time.Duration(rapid.IntRange(0, 3).Draw(t, "lat")) * time.Millisecond
		cost := time.Duration(rapid.IntRange(1, 2000).Draw(t, "cost")) * time.Microsecond
		s := New(Config{Link: Link{Latency: Constant(lat)}})
		var at []time.Duration
		var replies []time.Duration
		s.AddNode(1, func(n *Node) Handler {
			return handlerFunc(func(NodeID, any) { replies = append(replies, s.Now()) })
		})
		s.AddNode(2, func(n *Node) Handler {
			return handlerFunc(func(from NodeID, _ any) {
				at = append(at, s.Now())
				n.Charge(cost)
				n.Send(from, nil, 0) // departs when the service is done
			})
		})
		var arrivals []time.Duration
		count := rapid.IntRange(1, 100).Draw(t, "count")
		for i := 0; i < count; i++ {
			send := time.Duration(rapid.Int64Range(0, int64(20*time.Millisecond)).Draw(t, "send"))
			arrivals = append(arrivals, send+lat)
			s.At(send, func() { s.Node(1).Send(2, nil, 0) })
		}
		slices.Sort(arrivals)
		s.Run()
		if len(at) != count {
			t.Fatalf("delivered %d of %d", len(at), count)
		}
		free := time.Duration(0)
		for i, a := range at {
			want := max(arrivals[i], free)
			if a != want {
				t.Fatalf("delivery %d at %v, want %v (arrival %v, server free %v)", i, a, want, arrivals[i], free)
			}
			free = a + cost
			if replies[i] != a+cost+lat {
				t.Fatalf("reply %d at %v, want %v", i, replies[i], a+cost+lat)
			}
		}
	})
}

func TestPropPauseDefersLosesNothing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := rapid.IntRange(2, 3).Draw(t, "nodes")
		s, log := newLogSim(t, Link{Latency: drawLatency(t), Jitter: time.Millisecond}, nodes)
		type pause struct {
			id       NodeID
			from, to time.Duration
		}
		var pauses []pause
		for i := 0; i < rapid.IntRange(0, 5).Draw(t, "pauses"); i++ {
			p := pause{id: NodeID(rapid.IntRange(1, nodes).Draw(t, "pid"))}
			p.from = time.Duration(rapid.Int64Range(0, int64(30*time.Millisecond)).Draw(t, "pat"))
			p.to = p.from + time.Duration(rapid.Int64Range(1, int64(10*time.Millisecond)).Draw(t, "pd"))
			pauses = append(pauses, p)
			s.At(p.from, func() { s.Pause(p.id, p.to-p.from) })
		}
		count := rapid.IntRange(1, 150).Draw(t, "count")
		scheduleSends(t, s, nodes, count, 40*time.Millisecond)
		s.Run()
		if len(*log) != count {
			t.Fatalf("delivered %d of %d", len(*log), count)
		}
		last := map[[2]NodeID]int{}
		for _, d := range *log {
			for _, p := range pauses {
				if p.id == d.to && d.at > p.from && d.at < p.to {
					t.Fatalf("delivery to %d at %v during its pause %v..%v", d.to, d.at, p.from, p.to)
				}
			}
			key := [2]NodeID{d.from, d.to}
			if d.m.k <= last[key] {
				t.Fatalf("pause reordered link %d->%d", d.from, d.to)
			}
			last[key] = d.m.k
		}
	})
}

func TestPropCoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	rapid.Check(t, func(t *rapid.T) {
		s := New(Config{})
		defer s.Close()
		n := s.AddNode(1, nil)
		crash := time.Duration(rapid.Int64Range(1, int64(100*time.Millisecond)).Draw(t, "crash"))
		s.At(crash, func() { s.Crash(1) })
		type step struct {
			co int
			at time.Duration
		}
		var got, want []step
		cos := rapid.IntRange(1, 8).Draw(t, "coroutines")
		for c := 0; c < cos; c++ {
			sleeps := rapid.SliceOfN(rapid.IntRange(0, 20), 0, 10).Draw(t, "sleeps")
			now := time.Duration(0)
			for _, ms := range sleeps {
				now += time.Duration(ms) * time.Millisecond
				if now < crash {
					want = append(want, step{c, now})
				}
			}
			viaHarness := rapid.Bool().Draw(t, "viaHarness")
			n.Go(func() {
				for _, ms := range sleeps {
					d := time.Duration(ms) * time.Millisecond
					n.Await(func(wake func()) {
						if viaHarness {
							s.After(d, wake) // woken from outside the node
						} else {
							n.After(d, wake)
						}
					})
					got = append(got, step{c, s.Now()})
				}
			})
		}
		s.Run()
		// Per coroutine: exactly the expected resume times, and nothing at or
		// after the crash.
		for c := 0; c < cos; c++ {
			var g, w []time.Duration
			for _, x := range got {
				if x.co == c {
					g = append(g, x.at)
				}
			}
			for _, x := range want {
				if x.co == c {
					w = append(w, x.at)
				}
			}
			if !slices.Equal(g, w) {
				t.Fatalf("coroutine %d resumed at %v, want %v", c, g, w)
			}
		}
		if !slices.IsSortedFunc(got, func(a, b step) int { return int(a.at - b.at) }) {
			t.Fatalf("resumes out of time order: %v", got)
		}
	})
	assertNoLeak(t, base)
}
