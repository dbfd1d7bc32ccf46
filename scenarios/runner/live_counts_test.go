package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/scenarios"
)

// feed gives m the events in order, each at its time.
func feed(m *metrics, evs []transport.Event, at []time.Duration) {
	var now time.Duration
	m.now = func() time.Duration { return now }
	for i := range evs {
		now = at[i]
		m.event(&evs[i])
	}
}

// TestCountersOrderIndependent: a live run's counters were fed in arrival
// order, and a task.finished that came before its task.submitted (sent
// by another process) counted as a re-execution, the task as never
// completed: "3174/3180 tasks completed". An end before the submission
// now counts when the submission comes.
func TestCountersOrderIndependent(t *testing.T) {
	var actors []transport.ActorID
	m := newMetrics(&actors, nil)
	sub := func(id transport.TaskID) transport.Event {
		return transport.Event{Kind: transport.EvTaskSubmitted, Task: id, Object: transport.ObjectID{Task: 1}}
	}
	fin := func(id transport.TaskID) transport.Event {
		return transport.Event{Kind: transport.EvTaskFinished, Task: id}
	}
	ms := time.Millisecond
	feed(m, []transport.Event{fin(7), sub(7), sub(8), fin(8), fin(8)},
		[]time.Duration{5 * ms, 1 * ms, 2 * ms, 4 * ms, 6 * ms})
	r := m.result(&scenarios.Scenario{}, "remote", 10*ms)
	assert.Equal(t, uint64(2), r.TasksSubmitted)
	assert.Equal(t, uint64(2), r.TasksCompleted, "the end that came first counts")
	assert.Equal(t, uint64(1), r.TasksReexecuted, "task 8's second end")
	assert.Equal(t, []time.Duration{4 * ms, 2 * ms}, m.latencies)
}

// TestAllCompleteAgreesWithItsCounts: all_complete looked only at the
// drivers, and printed "ok" beside "3174/3180 tasks completed". A task
// submitted that never ended now fails it, saying so; submissions of a
// task that had ended already (a re-executed parent's children) are
// explained, not failed.
func TestAllCompleteAgreesWithItsCounts(t *testing.T) {
	s := &scenarios.Scenario{Expect: scenarios.Expect{AllComplete: true}}
	check := func(evs ...transport.Event) Expectation {
		var actors []transport.ActorID
		m := newMetrics(&actors, nil)
		feed(m, evs, make([]time.Duration, len(evs)))
		r := m.result(s, "sim", time.Second)
		x := expectations(s, r, m, "", nil, nil, time.Second)
		require.Len(t, x, 1)
		return x[0]
	}
	sub := func(id transport.TaskID) transport.Event {
		return transport.Event{Kind: transport.EvTaskSubmitted, Task: id, Object: transport.ObjectID{Task: 1}}
	}
	fin := func(id transport.TaskID) transport.Event {
		return transport.Event{Kind: transport.EvTaskFinished, Task: id}
	}

	x := check(sub(2), fin(2), sub(3))
	assert.False(t, x.OK, x.Detail)
	assert.Contains(t, x.Detail, "1/2 tasks completed")
	assert.Contains(t, x.Detail, "1 submitted task never ended")

	x = check(sub(2), fin(2), sub(3), fin(3), sub(3)) // 3 re-submitted after it ended, its result kept
	assert.True(t, x.OK, x.Detail)
	assert.True(t, strings.HasPrefix(x.Detail, "2/3 tasks completed; the 3 submissions were of 2 tasks"), x.Detail)
	assert.Contains(t, x.Detail, "every one of which ended")

	x = check(sub(2), fin(2))
	assert.True(t, x.OK, x.Detail)
	assert.Equal(t, "1/1 tasks completed, every driver finished", x.Detail)

	// A live run's events are lossy (a node process SIGKILLed mid-run
	// takes the events it had not sent): with every driver finished, an
	// end not heard does not fail it (TestDeployKillAndTerm failed so, and
	// then hung in its goroutine), and the detail says why.
	var actors []transport.ActorID
	m := newMetrics(&actors, nil)
	m.lossy = true
	evs := []transport.Event{sub(2), fin(2), sub(3)}
	feed(m, evs, make([]time.Duration, len(evs)))
	lx := expectations(s, m.result(s, "remote", time.Second), m, "", nil, nil, time.Second)
	require.Len(t, lx, 1)
	assert.True(t, lx[0].OK, lx[0].Detail)
	assert.Contains(t, lx[0].Detail, "1 submitted task ended unheard")
}
