package netsim

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The digests below were recorded with the original (slab + heap-entry)
// queue. Speed work on the queue, the items and the coroutines must keep
// them: the event stream is part of the contract (same seed → same run).

// churn is a workload that exercises every path of the queue: deliveries
// with every link feature, timers (stopped ones, ones beyond the calendar's
// ~1 s horizon, zero-delay ones), coroutines whose wakes are called late,
// twice, or from another node, busy nodes (Charge), pauses, crashes and
// restarts, partitions, and RunUntil/RunWhile boundaries.
func churn(seed int64) string {
	const nodes = 12
	s := New(Config{Seed: seed, Link: Link{
		Latency:   LogNormal(3*time.Millisecond, 2*time.Millisecond),
		Jitter:    time.Millisecond,
		Bandwidth: 50e6,
		Loss:      0.03, Duplicate: 0.03, Reorder: 0.05,
	}})
	defer s.Close()
	var wakes []func()
	var timers []Timer
	ids := make([]NodeID, nodes)
	for i := range ids {
		ids[i] = NodeID(i + 1)
	}
	ids[nodes-1] = 5000 // beyond the dense tables
	s.SetLink(ids[0], ids[1], Link{Latency: Exponential(time.Millisecond)})
	s.SetLink(ids[2], ids[3], Link{Latency: Uniform(0, 3*time.Second)})
	for _, id := range ids {
		s.AddNode(id, func(n *Node) Handler {
			r := n.Rand()
			h := handlerFunc(func(from NodeID, payload any) {
				n.Charge(time.Duration(r.IntN(30)) * time.Microsecond)
				k := payload.(int)
				switch {
				case k > 0 && r.IntN(3) > 0:
					n.Send(ids[r.IntN(nodes)], k-1, int64(r.IntN(5000)))
				case k > 0:
					timers = append(timers, n.After(time.Duration(r.IntN(2500))*time.Millisecond, func() {
						n.Send(ids[r.IntN(nodes)], k-1, 10)
					}))
				}
				if len(wakes) > 0 && r.IntN(4) == 0 {
					i := r.IntN(len(wakes))
					wakes[i]() // maybe stale, maybe a second call
					if r.IntN(2) == 0 {
						wakes = append(wakes[:i], wakes[i+1:]...)
					}
				}
				if len(timers) > 0 && r.IntN(5) == 0 {
					i := r.IntN(len(timers))
					timers[i].Stop()
					timers = append(timers[:i], timers[i+1:]...)
				}
			})
			var tick func()
			tick = func() {
				n.Send(ids[r.IntN(nodes)], 6, 64)
				n.After(time.Duration(r.IntN(15))*time.Millisecond, tick)
			}
			n.After(0, tick)
			for c := 0; c < 2; c++ {
				n.Go(func() {
					for i := 0; ; i++ {
						switch i % 3 {
						case 0:
							n.Await(func(wake func()) { wakes = append(wakes, wake) })
						case 1:
							n.Await(func(wake func()) { wake(); wake() })
						default:
							n.Await(func(wake func()) {
								n.After(time.Duration(r.IntN(1500))*time.Millisecond, wake)
							})
						}
						n.Charge(time.Duration(r.IntN(100)) * time.Microsecond)
						n.Send(ids[r.IntN(nodes)], 2, 100)
					}
				})
			}
			return h
		})
	}
	r := rand.New(rand.NewPCG(uint64(seed), 11))
	for i := 0; i < 60; i++ {
		at := time.Duration(r.Int64N(int64(4 * time.Second)))
		id := ids[r.IntN(nodes)]
		switch r.IntN(7) {
		case 0:
			s.At(at, func() { s.Crash(id) })
			s.At(at+time.Duration(r.IntN(200))*time.Millisecond, func() { s.Restart(id) })
		case 1:
			s.At(at, func() { s.Partition(ids[:4], ids[4:]) })
			s.At(at+80*time.Millisecond, s.Heal)
		case 2:
			s.At(at, func() { s.Pause(id, 30*time.Millisecond) })
		case 3:
			s.At(at, func() { s.Degrade(id, ids[0], 5*time.Millisecond, 0.2) })
			s.At(at+100*time.Millisecond, func() { s.Restore(id, ids[0]) })
		case 4:
			s.At(at, func() { s.Emit(EvCustom, id, "mark") })
		case 5:
			s.At(at, func() { s.Cut(id, ids[0]) })
		case 6:
			s.After(at+2*time.Second, func() { s.Node(id).Send(ids[0], 3, 1) })
		}
	}
	var kinds [numEventKinds]uint64
	s.cfgHook(func(ev *Event) { kinds[ev.Kind]++ })
	s.RunUntil(1500 * time.Millisecond)
	steps := 0
	s.RunWhile(func() bool { steps++; return steps < 20000 })
	s.RunUntil(s.Now() + 3*time.Second)
	for i := 0; i < 1000 && s.Step(); i++ {
	}
	return fmt.Sprintf("%016x %d %d %d %v", s.Digest(), s.Logged(), s.Stats().Events, s.Pending(), kinds)
}

// TestDigestGolden pins the simulator's digests (the values changed in the
// nineteenth session: a reordered message's duplicate no longer holds up
// its link).
func TestDigestGolden(t *testing.T) {
	debugQueue = true // check every bucket's sort
	defer func() { debugQueue = false }()
	for seed, want := range map[int64]string{
		1: "eee80a1d901bdc35 108245 63052 2451 [44222 41918 3325 1199 17509 7 7 19 9 9 14 0 7]",
		2: "cf481f878ede433e 108470 63914 2439 [44424 42927 2606 1287 17160 7 7 14 5 6 16 0 11]",
		3: "d344b4d487ea4f1a 108185 63631 2504 [44276 42509 2805 1221 17305 8 8 15 8 10 10 0 10]",
	} {
		if got := churn(seed); got != want {
			t.Errorf("seed %d:\n got %s\nwant %s", seed, got, want)
		}
	}
	for seed, want := range map[int64]string{
		42: "e850894e27d1abc2 17138",
		7:  "77817a2ac0c8f0c3 16961",
	} {
		d, n := runGossip(seed)
		if got := fmt.Sprintf("%016x %d", d, n); got != want {
			t.Errorf("gossip seed %d: got %s want %s", seed, got, want)
		}
	}
}

func TestConstantFastPathMatchesClamp(t *testing.T) {
	for _, d := range []Dist{
		Constant(0), Constant(1), Constant(time.Millisecond), Constant(1<<53 - 1), Constant(1 << 53),
		Constant(1<<53 + 1), Constant(-5), Constant(1<<62 + 12345),
		{Kind: DistConstant, Mean: time.Millisecond, Min: 2 * time.Millisecond},
		{Kind: DistConstant, Mean: time.Millisecond, Max: time.Microsecond},
	} {
		if got, want := d.Sample(nil), d.clamp(float64(d.Mean)); got != want {
			t.Errorf("%+v: Sample %d, clamp %d", d, got, want)
		}
	}
}
