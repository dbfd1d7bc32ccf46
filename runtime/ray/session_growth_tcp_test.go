package ray

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSessionsGrowth: driver sessions connect to a live head one after
// another, each runs one job and leaves; what the head's raylet keeps per
// session is counted (docs/results.md, Figure 10b, the sessions row).
// RAYSIM_SESSIONS sets how many (default 30; the table's rows ran 1,500).
// Each session is a node of its own: the raylet's table of node deaths
// held one entry per session for good (QA31 finding 6); past the latest
// 1,024 deaths it folds them into spans (node.deadNodes).
func TestSessionsGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a TCP session per round")
	}
	n := 30
	if s := os.Getenv("RAYSIM_SESSIONS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err)
		n = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok := []byte("sessions-growth")
	reg := NewRegistry()
	sq := Register1(reg, "sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	head, err := StartHead(ctx, DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: NodeConfig{CPUs: 1},
		Cluster: Config{GCSShards: 1}}, reg)
	require.NoError(t, err)
	defer head.Close()
	deadNodes := func() int {
		r, _ := head.rayletState()
		var k int
		require.True(t, head.rayH.Do(func() { k = r.DeadNodes() }))
		return k
	}
	for i := range n {
		s, err := Connect(ctx, head.Addr(), WithToken(tok), WithRegistry(reg))
		require.NoError(t, err, "session %d", i)
		require.NoError(t, s.Run(func(ctx context.Context) error {
			v, err := Get(ctx, sq.Remote(ctx, i))
			if err == nil && v != i*i {
				t.Errorf("sq(%d) = %d", i, v)
			}
			return err
		}), "session %d", i)
		require.NoError(t, s.Close())
		if (i+1)%(max(n/10, 1)) == 0 {
			t.Logf("after %d sessions: the head raylet's dead-node entries %d", i+1, deadNodes())
		}
	}
	// Every session's death reaches the head's raylet: n entries before.
	require.Eventually(t, func() bool { return deadNodes() >= min(n, 1024) }, 10*time.Second, 10*time.Millisecond)
	got := deadNodes()
	t.Logf("after %d sessions: %d dead-node entries", n, got)
	require.LessOrEqual(t, got, 1024+16)
}
