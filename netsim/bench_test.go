package netsim

import (
	"syscall"
	"testing"
	"time"
)

// cpuNow is the CPU time (user + system, every thread, so GC included)
// the process has used: on a shared machine it measures the work itself,
// where wall time also counts the time other processes held the CPU.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds the per-event metrics: wall events/s and ns/event, and
// cpu-ns/event (process CPU time per event).
func report(b *testing.B, total int, wall, cpu time.Duration) {
	b.ReportMetric(float64(total)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(wall.Nanoseconds())/float64(total), "ns/event")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "cpu-ns/event")
	b.ReportMetric(0, "ns/op")
}

type nopHandler struct{}

func (nopHandler) Deliver(NodeID, any) {}

const benchPending = 1 << 20 // ~1M pending events

// benchDest picks a pseudo-random destination for message i.
func benchDest(i, nodes int) NodeID {
	return NodeID(splitmix(uint64(i)) % uint64(nodes))
}

func benchSim(b *testing.B, nodes int) (*Sim, []*Node) {
	s := New(Config{Seed: 1})
	ns := make([]*Node, nodes)
	for i := range ns {
		ns[i] = s.AddNode(NodeID(i), func(*Node) Handler { return nopHandler{} })
	}
	// Per-link constant latencies spread over [1ms, 100ms): links stay FIFO
	// without the clamp piling messages up, and event times spread out.
	r := ns[0].Rand()
	for i := range ns {
		for j := range ns {
			lat := Uniform(time.Millisecond, 100*time.Millisecond).Sample(r)
			s.SetLink(NodeID(i), NodeID(j), Link{Latency: Constant(lat)})
		}
	}
	return s, ns
}

// BenchmarkEvents: one million pending deliveries, empty handler; each
// event is one schedule (Send) + one pop + one delivery, so the queue stays
// at its size. Reports events per wall second.
func BenchmarkEvents(b *testing.B) { benchEvents(b, benchPending) }

// BenchmarkEvents10k: the same with 10k pending (cache-resident queue).
func BenchmarkEvents10k(b *testing.B) { benchEvents(b, 10000) }

// BenchmarkEvents10kOnEvent: with an OnEvent hook that only looks for drops
// (what the runtime's adapter did), versus BenchmarkEvents10kOnDrop with the
// same hook as Config.OnDrop.
func BenchmarkEvents10kOnEvent(b *testing.B) {
	benchEvents(b, 10000, func(s *Sim) { s.onEvent = dropWatcher })
}

func BenchmarkEvents10kOnDrop(b *testing.B) {
	benchEvents(b, 10000, func(s *Sim) { s.onDrop = dropWatcher })
}

var drops int

func dropWatcher(ev *Event) {
	if ev.Kind == EvDrop {
		drops++
	}
}

func benchEvents(b *testing.B, benchPending int, opts ...func(*Sim)) {
	const nodes = 64
	s, ns := benchSim(b, nodes)
	for _, o := range opts {
		o(s)
	}
	var payload any = &struct{}{}
	for i := 0; i < benchPending; i++ {
		ns[i%nodes].Send(benchDest(i, nodes), payload, 100)
	}
	for i := 0; i < 2*benchPending; i++ { // warm up: slab, buckets
		ns[i%nodes].Send(benchDest(i, nodes), payload, 100)
		s.step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuNow()
	total := 0
	for b.Loop() {
		for i := 0; i < benchPending; i++ {
			ns[i%nodes].Send(benchDest(i, nodes), payload, 100)
			s.step()
		}
		total += benchPending
	}
	report(b, total, time.Since(start), cpuNow()-cpu)
}

// BenchmarkDrain: pop + deliver only, from one million pending.
func BenchmarkDrain(b *testing.B) {
	const nodes = 64
	var payload any = &struct{}{}
	total := 0
	var el, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s, ns := benchSim(b, nodes)
		for i := 0; i < benchPending; i++ {
			ns[i%nodes].Send(benchDest(i, nodes), payload, 100)
		}
		b.StartTimer()
		start, c := time.Now(), cpuNow()
		s.Run()
		el += time.Since(start)
		cpu += cpuNow() - c
		total += benchPending
	}
	report(b, total, el, cpu)
}

// BenchmarkTimers: node timers re-armed from their own callback, 1M pending.
func BenchmarkTimers(b *testing.B) {
	s, ns := benchSim(b, 64)
	var rearm func()
	k := 0
	rearm = func() {
		k++
		ns[k&63].After(time.Duration(k%1000)*time.Microsecond+time.Millisecond, rearm)
	}
	for i := 0; i < benchPending; i++ {
		rearm()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuNow()
	total := 0
	for b.Loop() {
		for i := 0; i < benchPending; i++ {
			s.step()
		}
		total += benchPending
	}
	report(b, total, time.Since(start), cpuNow()-cpu)
}

// BenchmarkCoroutineSwitch: a coroutine that awaits a wake from a timer.
func BenchmarkCoroutineSwitch(b *testing.B) {
	s := New(Config{Seed: 1})
	n := s.AddNode(1, func(*Node) Handler { return nopHandler{} })
	count := 0
	n.Go(func() {
		for {
			n.Await(func(wake func()) { wake() })
			count++
		}
	})
	b.ReportAllocs()
	start := cpuNow()
	for b.Loop() {
		s.step()
	}
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
	s.Close()
}
