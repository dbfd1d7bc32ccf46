package transporttest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// memCluster is the smallest deterministic runner for Env components: one
// pending-event pool for the whole cluster, run in a seeded random order (to
// show the Counter's end state does not depend on delivery order), every
// message round-tripped through the codec. Only what Counter uses works.
type memCluster struct {
	rand     *rand.Rand
	pending  []func()
	handlers map[transport.NodeID]transport.Handler
}

type memEnv struct {
	c    *memCluster
	self transport.NodeID
}

type memTimer struct{}

func (memTimer) Stop() bool { return false }

func (e *memEnv) Self() transport.NodeID   { return e.self }
func (e *memEnv) Now() time.Time           { return time.Unix(0, 0) }
func (e *memEnv) Rand() *rand.Rand         { return e.c.rand }
func (e *memEnv) Charge(time.Duration)     {}
func (e *memEnv) Go(func())                { panic("not supported") }
func (e *memEnv) Await(func(func()))       { panic("not supported") }
func (e *memEnv) Post(func())              { panic("not supported") }
func (e *memEnv) Emit(ev *transport.Event) {}

func (e *memEnv) After(_ time.Duration, f func()) transport.Timer {
	e.c.pending = append(e.c.pending, f)
	return memTimer{}
}

func (e *memEnv) Send(to transport.NodeID, m transport.Message) {
	body := transport.Marshal(nil, m)
	from := e.self
	e.c.pending = append(e.c.pending, func() {
		m, err := transport.Unmarshal(body)
		if err != nil {
			panic(err)
		}
		e.c.handlers[to].Handle(from, m)
	})
}

func (c *memCluster) run(limit int) int {
	steps := 0
	for ; len(c.pending) > 0 && steps < limit; steps++ {
		i := c.rand.IntN(len(c.pending))
		f := c.pending[i]
		c.pending[i] = c.pending[len(c.pending)-1]
		c.pending = c.pending[:len(c.pending)-1]
		f()
	}
	return steps
}

func TestCounterInMemory(t *testing.T) {
	for _, tt := range []struct {
		name  string
		peers []transport.NodeID
		n     int
	}{
		{"two", []transport.NodeID{1, 2}, 10},
		{"three", []transport.NodeID{3, 1, 2}, 25},
		{"five sparse", []transport.NodeID{10, 200, 3000, 7, 9}, 7},
		{"no pings", []transport.NodeID{1, 2, 3}, 0},
		{"alone", []transport.NodeID{1}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(5) {
				c := &memCluster{rand: rand.New(rand.NewPCG(seed, 1)), handlers: map[transport.NodeID]transport.Handler{}}
				counters := map[transport.NodeID]*Counter{}
				for _, id := range tt.peers {
					counters[id] = NewCounter(tt.peers, tt.n)
					c.handlers[id] = counters[id].Handler(&memEnv{c: c, self: id})
				}
				require.Less(t, c.run(1_000_000), 1_000_000, "did not quiesce")
				got := map[transport.NodeID]CounterState{}
				for id, ctr := range counters {
					got[id] = ctr.State()
					select {
					case <-ctr.Done():
					default:
						t.Errorf("seed %d: node %d not done: %v", seed, id, got[id])
					}
				}
				if d := cmp.Diff(Expect(tt.peers, tt.n), got); d != "" {
					t.Fatalf("seed %d (-want +got):\n%s", seed, d)
				}
			}
		})
	}
}
