package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

func cpus(n float64) transport.Resources { return transport.MakeResources(n, 0, nil) }

// TestWaitCountsQueuePerCPU: a node drains its queue with all its CPUs, so
// a burst placed by the bottom-up policy fills an 8-CPU node four times as
// deep as a 2-CPU one, both while the mean task time is unknown (ties go to
// the shorter queue per CPU) and once it is (the estimate divides by CPUs).
func TestWaitCountsQueuePerCPU(t *testing.T) {
	for _, mean := range []time.Duration{0, 10 * time.Millisecond} {
		c := []Candidate{{Node: 1, Total: cpus(2), MeanTaskTime: mean}, {Node: 2, Total: cpus(8), MeanTaskTime: mean}}
		d := &Decision{Spec: &transport.TaskSpec{}}
		p, err := NewPolicy("bottom-up")
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(1, 2))
		for range 1000 {
			c[p.Pick(d, c, r)].QueueLen++
		}
		require.InDelta(t, 200, c[0].QueueLen, 2, "mean %v: the 2-CPU node's share", mean)
		require.InDelta(t, 800, c[1].QueueLen, 2, "mean %v: the 8-CPU node's share", mean)
	}
}

func TestEstimatedWaitPerCPU(t *testing.T) {
	d := &Decision{}
	small := Candidate{Total: cpus(2), QueueLen: 10, MeanTaskTime: 10 * time.Millisecond}
	big := Candidate{Total: cpus(8), QueueLen: 30, MeanTaskTime: 10 * time.Millisecond}
	require.Equal(t, 50*time.Millisecond, EstimatedWait(d, &small))
	require.Equal(t, 37500*time.Microsecond, EstimatedWait(d, &big))
	none := Candidate{QueueLen: 3, MeanTaskTime: time.Millisecond} // no CPUs: the queue as it is
	require.Equal(t, 3*time.Millisecond, EstimatedWait(d, &none))
}
