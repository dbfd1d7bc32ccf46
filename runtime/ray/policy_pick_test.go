package ray_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
)

// badPick is a program's own policy whose Pick answers an index out of
// range (or panics) for its first bad calls, then the first candidate.
// netsim runs the scheduler on one goroutine: a plain counter is fine.
type badPick struct {
	answer func(c []scheduler.Candidate) int
	bad    int
	picks  *int
}

func (badPick) Name() string              { return "bad-pick" }
func (badPick) Local(bool, int, int) bool { return false }
func (p badPick) Pick(_ *scheduler.Decision, c []scheduler.Candidate, _ *rand.Rand) int {
	*p.picks++
	if *p.picks <= p.bad {
		return p.answer(c)
	}
	return 0
}

// TestPolicyPickOutOfRange: an own policy's Pick answering an index out
// of range (len(c), -1) or panicking never crashes the global scheduler:
// the task is held as one no node can run, its owner hears why (a Get
// that times out says the policy's name), and it is placed once the policy
// answers a candidate, on a later heartbeat.
func TestPolicyPickOutOfRange(t *testing.T) {
	answers := map[string]func(c []scheduler.Candidate) int{
		"len":   func(c []scheduler.Candidate) int { return len(c) },
		"minus": func([]scheduler.Candidate) int { return -1 },
		"panic": func([]scheduler.Candidate) int { panic("policy bug") },
	}
	for _, name := range []string{"len", "minus", "panic"} {
		t.Run(name, func(t *testing.T) {
			for _, bad := range []int{1 << 30, 3} {
				reg := ray.NewRegistry()
				f := ray.Register0(reg, "f", func(ctx context.Context) (int, error) { return 1, nil })
				picks := 0
				p := badPick{answer: answers[name], bad: bad, picks: &picks}
				c, err := ray.NewSim(ray.Config{Seed: 1, PolicyImpl: p, Nodes: []ray.NodeConfig{{Name: "head", CPUs: 1}, {Name: "w", CPUs: 1}}}, reg)
				require.NoError(t, err)
				require.NoError(t, c.Run(func(ctx context.Context) error {
					v, err := ray.GetTimeout(ctx, f.Remote(ctx), 5*time.Second)
					if bad > 10 {
						require.ErrorIs(t, err, ray.ErrTimeout)
						assert.ErrorContains(t, err, `scheduling policy "bad-pick"`)
						return nil
					}
					require.NoError(t, err, "placed once the policy answers a candidate")
					assert.Equal(t, 1, v)
					return nil
				}))
				c.Close()
				assert.Greater(t, picks, min(bad, 10), "asked again while held")
			}
		})
	}
}
