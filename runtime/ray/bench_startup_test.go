package ray_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"raysim/runtime/ray"
)

// BenchmarkSimStartup measures a cluster's start-up at scale: one op
// builds a simulated cluster of n one-CPU nodes and runs it for 250ms of
// virtual time (every node registers and heartbeats twice), with no work.
// It reports the live heap per node then (live-B/node: after a GC, with
// the cluster still referenced) and the wall time of the op (ns/op).
// Start-up was quadratic in n (QA32: 20,000 nodes took 20 s); compare
// the sizes' ns/op per node to see it is linear.
//
//	go test -run '^$' -bench 'SimStartup/n=10000$' -benchtime 1x ./runtime/ray/
func BenchmarkSimStartup(b *testing.B) {
	for _, n := range []int{1000, 5000, 10000, 20000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			cfg := ray.Config{Seed: 1}
			for i := range n {
				cfg.Nodes = append(cfg.Nodes, ray.NodeConfig{Name: fmt.Sprintf("n%d", i), CPUs: 1})
			}
			var live uint64
			for b.Loop() {
				b.StopTimer()
				before := heapLive()
				b.StartTimer()
				c, err := ray.NewSim(cfg, ray.NewRegistry())
				if err != nil {
					b.Fatal(err)
				}
				c.Netsim().RunUntil(250 * time.Millisecond)
				b.StopTimer()
				after := heapLive()
				live = after - min(before, after)
				runtime.KeepAlive(c)
				c.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(live)/float64(n), "live-B/node")
		})
	}
}

// heapLive is the heap in use after a full collection.
func heapLive() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
