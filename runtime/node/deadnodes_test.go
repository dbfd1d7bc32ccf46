package node

import (
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestDeadNodesBounded: ten thousand driver nodes (one per driver session
// on a live cluster, none of them in the raylet's address book any more)
// say goodbye, each at an incarnation of its own, as TCP numbers them by
// the clock, while one among them lives on and a node of the book died
// first. The raylet kept an entry per node for good (9,999 here, QA31's
// sessions stream); now at most maxDeadNodes plus the book's nodes, and the
// rest as spans of node IDs. A folded node's dead incarnations are still
// taken for dead, and a stale death of it is not news (its ended job stays
// ended); a folded node that rejoins is alive again at its new
// incarnation, above its span's number, and the book's node is never
// folded.
func TestDeadNodesBounded(t *testing.T) {
	r, _ := hostileRaylet(t, 0) // the book: raylets 1 and 7
	const first, nodes, live = 100, 10_000, 150
	incOf := func(n transport.NodeID) uint64 { return 1_000_000 + 7*uint64(n) }
	r.Handle(50, &transport.NodeDead{Node: 7, Incarnation: 3, JobsEnd: true})
	for n := transport.NodeID(first); n < first+nodes; n++ {
		if n != live {
			r.Handle(50, &transport.NodeDead{Node: n, Incarnation: incOf(n), JobsEnd: true, Left: true})
		}
	}
	t.Logf("dead-node entries after %d sessions: %d (%d exact, %d spans)", nodes-1, r.DeadNodes(), len(r.dead.inc), len(r.dead.gone))
	require.Less(t, r.DeadNodes(), nodes/5, "an entry per session, for good")
	require.LessOrEqual(t, r.DeadNodes(), maxDeadNodes+len(r.cfg.Layout.Raylets)+2)

	// The book's node keeps its number: its next incarnation is alive.
	require.True(t, r.dead.known(7, 3))
	require.False(t, r.dead.known(7, 4))
	// The node still up is not dead; a folded one is, at its incarnation
	// and below, and upTo names the incarnation asked of.
	require.False(t, r.dead.known(live, incOf(live)))
	require.True(t, r.dead.known(first, incOf(first)))
	require.True(t, r.dead.known(first, 1))
	inc, dead := r.dead.upTo(first+1, incOf(first+1))
	require.True(t, dead)
	require.Equal(t, incOf(first+1), inc)
	// The newest deaths are exact.
	require.True(t, r.dead.known(first+nodes-1, incOf(first+nodes-1)))
	require.False(t, r.dead.known(first+nodes-1, incOf(first+nodes-1)+1))

	// A new chain tail republishes an old death (JobsEnd false): not news,
	// so the session's ended job is not revived.
	spec := func(node transport.NodeID) *transport.TaskSpec {
		return &transport.TaskSpec{ID: 1, Func: "f", NumReturns: 1, Owner: node, Act: &transport.ActorSpec{JobSet: true, Job: transport.JobOf(node, 1)}}
	}
	require.True(t, r.jobEnded(spec(first+2)))
	r.Handle(50, &transport.NodeDead{Node: first + 2, Incarnation: incOf(first + 2)})
	require.True(t, r.jobEnded(spec(first+2)))

	// A folded node rejoins under its ID, at the clock: its new
	// incarnation is alive even before the news; the node table declares
	// the incarnation below it dead, news here, which revives its jobs
	// and makes its number exact.
	newInc := incOf(first+nodes) + 5_000_000
	require.False(t, r.dead.known(first+3, newInc))
	r.Handle(50, &transport.NodeDead{Node: first + 3, Incarnation: newInc - 1})
	require.True(t, r.dead.known(first+3, newInc-1))
	require.False(t, r.dead.known(first+3, newInc))
	require.False(t, r.jobEnded(spec(first+3)))
	require.LessOrEqual(t, r.DeadNodes(), maxDeadNodes+len(r.cfg.Layout.Raylets)+4)
}
