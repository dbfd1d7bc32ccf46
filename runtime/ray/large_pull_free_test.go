package ray_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
)

// pulledObjectBytes is the size of freedPulls' objects: real bytes,
// three chunks and a part at the default 1 MiB chunk size, so a pull is
// several messages and a reader given parts of two copies sees it.
const pulledObjectBytes = 3<<20 + 1<<19

// freedPulls registers a producer of objects of several chunks of real
// bytes, every byte of one run the same and different on each run (a
// nondeterministic task: a rebuild makes other bytes), and a reader that
// says whether what it was given is one run's object whole. run is a
// driver: rounds of producers spread over nodes 1-3, two readers of each
// object on other nodes (pulls), some objects freed while their readers
// pull them and read again by the driver (a rebuild from lineage, a new
// copy pulled again from wherever it is made), and every object read by
// the driver too. Readers on nodes with small stores evict what they
// pulled, so later reads pull again. A read may fail only with a lost
// object (a rebuild's retries spent to node deaths); every read that
// returns has one run's bytes, whole.
func freedPulls(t *testing.T, s *suite) (run func(ctx context.Context) error, reads *int) {
	runs := map[int]int{}
	mk := ray.Register1(s.reg, "freedMade", func(ctx context.Context, i int) ([]byte, error) {
		runs[i]++ // netsim: one goroutine at a time
		return bytes.Repeat([]byte{byte(i*8 + runs[i])}, pulledObjectBytes), nil
	})
	use := ray.Register1(s.reg, "freedRead", func(ctx context.Context, b []byte) (string, error) {
		return wholeCopy(b), nil
	})
	n := 0
	check := func(what string, got string, err error) {
		if errors.Is(err, ray.ErrObjectLost) {
			return
		}
		if assert.NoError(t, err, what) && assert.Equal(t, "whole", got, what) {
			n++
		}
	}
	return func(ctx context.Context) error {
		for round := range 4 {
			var xs []ray.Ref[[]byte]
			for i := range 6 {
				k := round*6 + i
				xs = append(xs, mk.Options(ray.NodeAffinity(ray.RayletID(1+k%3), false)).Remote(ctx, k))
			}
			if _, _, err := ray.Wait(ctx, xs, len(xs), time.Minute); err != nil {
				return fmt.Errorf("round %d: producers: %w", round, err)
			}
			var reads []ray.Ref[string]
			for i, x := range xs {
				k := round*6 + i
				for j := 1; j <= 2; j++ {
					reads = append(reads, use.Options(ray.NodeAffinity(ray.RayletID(1+(k+j)%3), false)).Remote(ctx, x))
				}
			}
			// Let the pulls start, then free every third object under them.
			if err := ray.Compute(ctx, time.Duration(2+round)*time.Millisecond); err != nil {
				return err
			}
			for i := 0; i < len(xs); i += 3 {
				if err := ray.Free(ctx, xs[i]); err != nil {
					return err
				}
			}
			for i, r := range reads {
				got, err := ray.GetTimeout(ctx, r, 2*time.Minute)
				check(fmt.Sprintf("round %d: read %d of object %d", round, i%2, i/2), got, err)
			}
			for i, x := range xs {
				b, err := ray.GetTimeout(ctx, x, 2*time.Minute)
				check(fmt.Sprintf("round %d: the driver's read of object %d", round, i), wholeCopy(b), err)
			}
		}
		return nil
	}, &n
}

// wholeCopy says "whole" for one run's object of freedPulls, else what
// is wrong with it.
func wholeCopy(b []byte) string {
	switch {
	case len(b) != pulledObjectBytes:
		return fmt.Sprintf("%d bytes, not %d", len(b), pulledObjectBytes)
	case bytes.Count(b, b[:1]) != len(b):
		return fmt.Sprintf("torn: %d of %d bytes are %d", bytes.Count(b, b[:1]), len(b), b[0])
	}
	return "whole"
}

// TestLargePullsAcrossFrees: pulls of objects of several chunks of real
// bytes around frees of objects under their pulls (their rebuilds make
// other bytes), re-pulls of evicted copies, and, in some runs, a producer
// node's crash mid-transfer and its restart, over rough links (jitter,
// reordering: netsim's adapter gives components each connection's
// messages in order, as TCP does, so a reordered frame holds back those
// after it). Every read gets one run's object whole, never a wait for
// good. A node that had pulled the first run's copy before the free
// served it while a reader held the first chunk of the rebuilt copy: the
// reader joined the two (its pull told copies apart by size and error
// kind only), a value neither run made, on FIFO links as well. The
// reordering a component does see, TCP's held chunks overtaken, is
// TestPullFailedOvertakesItsChunks's (runtime/node) and
// TestHeldChunksOvertakenTCP's.
func TestLargePullsAcrossFrees(t *testing.T) {
	for _, tc := range []struct {
		seed    int64
		crash   bool
		buggify bool
	}{{2, true, false}, {3, false, true}, {4, true, true}, {6, false, false}} { // 4 and 6 read torn values before
		t.Run(fmt.Sprintf("seed%d-crash%v-buggify%v", tc.seed, tc.crash, tc.buggify), func(t *testing.T) {
			s := newSuite()
			run, reads := freedPulls(t, s)
			store := int64(3 * pulledObjectBytes)
			c, err := ray.NewSim(ray.Config{Seed: tc.seed, WireCheck: true, Buggify: tc.buggify,
				Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "a", CPUs: 2, ObjectStoreBytes: store},
					{Name: "b", CPUs: 2, ObjectStoreBytes: store}, {Name: "c", CPUs: 2}},
				Link: netsim.Link{Latency: netsim.Uniform(100*time.Microsecond, 2*time.Millisecond), Jitter: 500 * time.Microsecond,
					Bandwidth: 125e6, Reorder: 0.3},
			}, s.reg)
			require.NoError(t, err)
			defer c.Close()
			if tc.crash {
				a := netsim.NodeID(ray.RayletID(1))
				c.Netsim().At(40*time.Millisecond+time.Duration(tc.seed)*7*time.Millisecond, func() { c.Netsim().Crash(a) })
				c.Netsim().At(3*time.Second, func() { c.Netsim().Restart(a) })
			}
			require.NoError(t, c.Run(run))
			assert.GreaterOrEqual(t, *reads, 4*6*2, "most reads returned")
		})
	}
}
