package node

import "time"

// BUGGIFY-style fault points (after FoundationDB's): places where the
// raylet, in simulation only, sometimes does something legal but unusual —
// a late reply, a spurious retry, a too-short timeout — so that rare paths
// run in ordinary tests. The run's seed decides which sites are on (swarm
// testing: each seed tests a different mix) and, through the node's random
// stream, when they fire. On TCP they are always off.

// Buggify sites.
const (
	BuggifyLateTaskDone  = iota // TaskDone reaches the owner up to 50ms late
	BuggifyShortPull            // a pull gives up after 10ms instead of 1s
	BuggifyDuplicateTask        // a spilled task is spilled twice (runs twice)
	BuggifyEarlyLocate          // an unanswered subscription is repeated after 5ms
	buggifySites
)

// Buggify configures the fault points of one raylet.
type Buggify struct {
	Sites  [buggifySites]bool
	Chance float64 // probability that an enabled site fires when reached
}

// BuggifyFor derives a run's fault points from its seed: each site on with
// probability one half, firing 5% of the time it is reached.
func BuggifyFor(seed int64) *Buggify {
	b := &Buggify{Chance: 0.05}
	x := uint64(seed)*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	for i := range b.Sites {
		x ^= x >> 31
		x *= 0xbf58476d1ce4e5b9
		b.Sites[i] = x>>63 == 1
	}
	return b
}

// buggify reports whether site fires now.
func (r *Raylet) buggify(site int) bool {
	b := r.cfg.Buggify
	return b != nil && b.Sites[site] && r.env.Rand().Float64() < b.Chance
}

func (r *Raylet) buggifyDelay(max time.Duration) time.Duration {
	return time.Duration(r.env.Rand().Int64N(int64(max)))
}
