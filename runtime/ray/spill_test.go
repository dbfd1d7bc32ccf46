package ray_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// spillCounts folds a run's events into what the spill tests look at. Its
// event hook may be called from several goroutines (TCP).
type spillCounts struct {
	mu                         sync.Mutex
	spilled, restored, rebuilt int
	overCapacity               int
	finished                   map[transport.TaskID]int
}

func (s *spillCounts) event(ev *transport.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Kind {
	case transport.EvObjectSpilled:
		s.spilled++
	case transport.EvObjectRestored:
		s.restored++
	case transport.EvObjectReconstructed:
		s.rebuilt++
	case transport.EvWarning:
		if strings.Contains(ev.Detail, "over capacity") {
			s.overCapacity++
		}
	case transport.EvTaskFinished:
		if s.finished == nil {
			s.finished = map[transport.TaskID]int{}
		}
		s.finished[ev.Task]++
	}
}

// reexecuted is the number of task runs after a task's first.
func (s *spillCounts) reexecuted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.finished {
		n += k - 1
	}
	return n
}

// spillWorkload is a workload of 32 MiB of results on a worker whose object
// store holds 8 MiB: 32 results of 1 MiB made on "w", every one waited for
// before any is read; then a task on "w" reads each (a local argument) and
// the driver gets them all (pulls from "w").
type spillWorkload struct {
	reg  *ray.Registry
	read *ray.Func[uint64]
	blob *ray.Func[ray.Blob]
}

const spillObjects = 32

func newSpillWorkload() *spillWorkload {
	reg := ray.NewRegistry()
	return &spillWorkload{
		reg: reg,
		blob: ray.Register1(reg, "spill.blob", func(ctx context.Context, i int) (ray.Blob, error) {
			return ray.Blob{Bytes: 1 << 20, Sum: uint64(i)}, nil
		}),
		read: ray.Register1(reg, "spill.read", func(ctx context.Context, b ray.Blob) (uint64, error) {
			return b.Sum + uint64(b.Bytes), nil
		}),
	}
}

func spillNodes(spill int64) []ray.NodeConfig {
	return []ray.NodeConfig{
		{Name: "head", CPUs: 1, ObjectStoreBytes: 256 << 20},
		{Name: "w", CPUs: 2, Resources: map[string]float64{"w": 1000}, ObjectStoreBytes: 8 << 20, ObjectSpillBytes: spill},
	}
}

func (w *spillWorkload) run(t *testing.T, ctx context.Context) ([]ray.Ref[ray.Blob], []ray.Ref[uint64]) {
	onW := ray.Resource("w", 1)
	refs := make([]ray.Ref[ray.Blob], spillObjects)
	for i := range refs {
		refs[i] = w.blob.Options(onW).Remote(ctx, i)
	}
	_, _, err := ray.Wait(ctx, refs, len(refs), -1)
	require.NoError(t, err)
	reads := make([]ray.Ref[uint64], len(refs))
	for i, r := range refs {
		reads[i] = w.read.Options(onW).Remote(ctx, r)
	}
	sums, err := ray.GetAll(ctx, reads, -1)
	require.NoError(t, err)
	for i, s := range sums {
		assert.Equal(t, uint64(i)+1<<20, s, "read %d", i)
	}
	blobs, err := ray.GetAll(ctx, refs, -1)
	require.NoError(t, err)
	for i, b := range blobs {
		assert.Equal(t, ray.Blob{Bytes: 1 << 20, Sum: uint64(i)}, b, "get %d", i)
	}
	return refs, reads
}

// TestSpillKeepsTheStoreWithinCapacity: a workload four times larger than
// a node's object store. With a spill tier the primaries that do not fit
// go to it and are restored at their reads (a task's argument, the
// driver's pull): the store never goes over capacity, and nothing is run
// twice. Without one the store goes over capacity, as before (raysim never
// evicts a primary copy). The same body runs in netsim and on loopback TCP.
func TestSpillKeepsTheStoreWithinCapacity(t *testing.T) {
	for _, transportName := range []string{"sim", "tcp"} {
		for _, spill := range []int64{0, 64 << 20} {
			name := transportName + "/no-spill"
			if spill > 0 {
				name = transportName + "/spill"
			}
			t.Run(name, func(t *testing.T) {
				w := newSpillWorkload()
				var n spillCounts
				cfg := ray.Config{Nodes: spillNodes(spill), Seed: 1, OnEvent: n.event}
				body := func(ctx context.Context) error {
					w.run(t, ctx)
					return nil
				}
				if transportName == "sim" {
					cfg.WireCheck = true
					c, err := ray.NewSim(cfg, w.reg)
					require.NoError(t, err)
					defer c.Close()
					require.NoError(t, c.Run(body))
				} else {
					c, err := ray.NewTCP(context.Background(), cfg, w.reg)
					require.NoError(t, err)
					defer func() { require.NoError(t, c.Close()) }()
					require.NoError(t, c.Run(body))
				}
				assert.Zero(t, n.reexecuted(), "no task ran twice")
				n.mu.Lock()
				defer n.mu.Unlock()
				assert.Zero(t, n.rebuilt, "nothing rebuilt from lineage")
				t.Logf("spilled %d, restored %d, over capacity %d", n.spilled, n.restored, n.overCapacity)
				if spill == 0 {
					assert.Positive(t, n.overCapacity, "without a spill tier the store goes over capacity")
					assert.Zero(t, n.spilled)
					assert.Zero(t, n.restored)
					return
				}
				if transportName == "sim" {
					// On TCP how many objects queued tasks pin at once
					// depends on the machine's speed (under -race on a
					// loaded machine, 20 warnings of a store whose every
					// object was pinned): only the simulation's count is
					// the design's.
					assert.Zero(t, n.overCapacity, "with a spill tier the store stays within capacity")
				}
				assert.GreaterOrEqual(t, n.spilled, spillObjects-8, "all but what fits in 8 MiB went to the tier")
				assert.Positive(t, n.restored, "reads restored spilled objects")
			})
		}
	}
}

// TestSpillConfigRefused: a negative spill tier, or one beside an
// unbounded store, is refused (ErrBadSpill).
func TestSpillConfigRefused(t *testing.T) {
	reg := ray.NewRegistry()
	for _, n := range []ray.NodeConfig{
		{Name: "a", CPUs: 1, ObjectStoreBytes: 1 << 20, ObjectSpillBytes: -1},
		{Name: "a", CPUs: 1, ObjectSpillBytes: 1 << 20},
	} {
		_, err := ray.NewSim(ray.Config{Nodes: []ray.NodeConfig{n}, Seed: 1}, reg)
		assert.ErrorIs(t, err, ray.ErrBadSpill, "%+v", n)
	}
}

// TestSpilledObjectsDieWithTheirNode: spilled copies are on the node's
// local disk: when the node dies they are lost with it, and lineage
// reconstruction rebuilds them as it rebuilds any lost object.
func TestSpilledObjectsDieWithTheirNode(t *testing.T) {
	w := newSpillWorkload()
	var n spillCounts
	c, err := ray.NewSim(ray.Config{Nodes: spillNodes(64 << 20), Seed: 1, WireCheck: true, OnEvent: n.event}, w.reg)
	require.NoError(t, err)
	defer c.Close()
	wid := netsim.NodeID(ray.RayletID(1))
	require.NoError(t, c.Run(func(ctx context.Context) error {
		onW := ray.Resource("w", 1)
		refs := make([]ray.Ref[ray.Blob], spillObjects)
		for i := range refs {
			refs[i] = w.blob.Options(onW).Remote(ctx, i)
		}
		_, _, err := ray.Wait(ctx, refs, len(refs), -1)
		require.NoError(t, err)
		n.mu.Lock()
		spilled := n.spilled
		n.mu.Unlock()
		require.Positive(t, spilled, "objects spilled before the crash")
		now := c.Netsim().Now()
		c.Netsim().At(now+time.Millisecond, func() { c.Netsim().Crash(wid) })
		c.Netsim().At(now+200*time.Millisecond, func() { c.Netsim().Restart(wid) })
		require.NoError(t, ray.Compute(ctx, 2*time.Second)) // the node dies and comes back
		blobs, err := ray.GetAll(ctx, refs, -1)
		require.NoError(t, err)
		for i, b := range blobs {
			assert.Equal(t, ray.Blob{Bytes: 1 << 20, Sum: uint64(i)}, b, "get %d", i)
		}
		return nil
	}))
	n.mu.Lock()
	defer n.mu.Unlock()
	t.Logf("spilled %d, restored %d, rebuilt %d", n.spilled, n.restored, n.rebuilt)
	assert.Positive(t, n.rebuilt, "the spilled objects died with their node and were rebuilt from lineage")
}

// TestFreeDropsSpilledCopies: ray.Free of objects spilled on a node drops
// their copies in the tier as well as in memory.
func TestFreeDropsSpilledCopies(t *testing.T) {
	w := newSpillWorkload()
	var n spillCounts
	c, err := ray.NewSim(ray.Config{Nodes: spillNodes(64 << 20), Seed: 1, WireCheck: true, OnEvent: n.event}, w.reg)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Run(func(ctx context.Context) error {
		refs, reads := w.run(t, ctx)
		st := c.Raylet(1).Store() // w's; the simulation's loop runs one thing at a time: the driver may look
		require.Positive(t, st.SpillUsed(), "objects in the tier")
		require.NoError(t, ray.Free(ctx, refs...))
		require.NoError(t, ray.Free(ctx, reads...))
		require.NoError(t, ray.Compute(ctx, 100*time.Millisecond)) // the frees reach the node
		assert.Zero(t, st.SpillUsed(), "the tier's copies went with the free")
		assert.Zero(t, st.Len(), "and the ones in memory")
		return nil
	}))
}
