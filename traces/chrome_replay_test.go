package traces_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"raysim/runtime/transport"
	"raysim/traces"
)

// TestChromeReplayedMethodNamed: a replayed actor method's slice is named
// by its method, "add (replay)" (its events say only "replay"), so a
// search for the method in Perfetto finds the replay too. QA30 finding 9.
func TestChromeReplayedMethodNamed(t *testing.T) {
	ms := time.Millisecond
	evs := chromeOf(t, []traces.Record{
		rtRec(0, transport.EvTaskSubmitted, 1, 0, 7, "add"),
		rtRec(ms, transport.EvTaskPlaced, 3, 3, 7, "actor"),
		rtRec(ms, transport.EvTaskRunning, 3, 0, 7, "add"), // lost in node 3's crash
		rtRec(5*ms, transport.EvTaskRunning, 2, 0, 7, transport.DetailReplay),
		rtRec(6*ms, transport.EvTaskFinished, 2, 0, 7, transport.DetailReplay),
		rtRec(7*ms, transport.EvTaskRunning, 2, 0, 8, transport.DetailReplay), // its first run is not in the trace
		rtRec(8*ms, transport.EvTaskFinished, 2, 0, 8, transport.DetailReplay),
	})
	var names []any
	for _, e := range evs {
		if e["ph"] == "X" && e["cat"] == "task" {
			names = append(names, e["name"])
		}
	}
	assert.ElementsMatch(t, []any{"add", "add (replay)", "replay"}, names)
}
