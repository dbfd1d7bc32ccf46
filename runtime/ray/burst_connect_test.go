package ray

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestBurstConnect connects RAYSIM_BURST drivers at once to an
// in-process head, each running one task, and fails if any connect or
// task fails; it logs the connects' times and the coordinator's
// transport counters. Skipped unless RAYSIM_BURST is set: a measurement
// (docs/deploy.md, Cluster size and memory), heavy on a small machine,
// where every driver's process shares the head's cores:
//
//	RAYSIM_BURST=300 nice -n 5 go test ./runtime/ray -run TestBurstConnect -count=1 -v -timeout 600s
func TestBurstConnect(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RAYSIM_BURST"))
	if n <= 0 {
		t.Skip("set RAYSIM_BURST to the number of drivers")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := []byte("burst-token")
	reg := NewRegistry()
	where := Register0(reg, "where", func(ctx context.Context) (uint64, error) { return uint64(NodeOf(ctx)), nil })
	head, err := StartHead(ctx, DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: NodeConfig{CPUs: 1},
		Cluster: Config{GCSShards: 1}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	defer head.Close()
	var (
		mu   sync.Mutex
		errs []error
		took []time.Duration
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			s, err := Connect(ctx, head.Addr(), WithToken(tok), WithRegistry(reg))
			if err != nil {
				fail(fmt.Errorf("connect: %w", err))
				return
			}
			defer s.Close()
			mu.Lock()
			took = append(took, time.Since(t0))
			mu.Unlock()
			if err := s.Run(func(ctx context.Context) error {
				_, err := Get(ctx, where.Remote(ctx))
				return err
			}); err != nil {
				fail(fmt.Errorf("run: %w", err))
			}
		}()
	}
	wg.Wait()
	slices.Sort(took)
	if len(took) > 0 {
		t.Logf("connects: min %v median %v max %v", took[0], took[len(took)/2], took[len(took)-1])
	}
	t.Logf("coordinator: %+v", head.coordH.Stats())
	for i, err := range errs {
		if i < 3 {
			t.Log(err)
		}
	}
	if len(errs) > 0 {
		t.Fatalf("of %d drivers at once, %d failed", n, len(errs))
	}
}
