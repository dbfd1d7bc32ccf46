package runner

import (
	"cmp"
	"slices"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// liveHold is how long a live run holds an event at first before it takes
// it as in order: every process sends its events in batches every
// ray.TraceFlushEvery, so a record can arrive that long after later
// records of other processes, plus the network's and both ends' delays (a
// process starved of CPU flushes late). The hold grows to the largest lag
// seen plus liveMargin (up to liveMaxHold): a host whose clock is behind,
// or a loaded one, makes every later record wait longer, not come late.
const (
	liveHold    = ray.TraceFlushEvery + 480*time.Millisecond
	liveMargin  = 200 * time.Millisecond
	liveMaxHold = 10 * time.Second
)

// liveReleaseEvery spaces releases, so that a stream of single events (the
// driver raylet's own, which come one at a time) does not sort the
// buffer on each.
const liveReleaseEvery = 20 * time.Millisecond

// liveStream turns the events a live run receives — its own raylet's one
// at a time, every other process's in batches, all in arrival order and
// from every job on the cluster — into the run's events: its own job's,
// in timestamp order.
//
// Order: events wait in a buffer until they are hold old (by the
// receiving clock; liveHold at first, then the largest lag seen plus a
// margin), then leave it sorted by timestamp; ties go by node ID
// (deterministic), then by arrival (one process's events arrive in the
// order it emitted them). flush empties the buffer at the end of the run.
// A record that arrives after later ones have left is passed on as it is
// (the trace recorder writes it at the previous record's time and counts
// it: Recorder.Clamped).
//
// Job: a task is the run's when it descends from one of the run's
// drivers' root tasks (ray.Session.DriverTasks), following the parents
// task.submitted events name (Object.Task) — its drivers' tasks, what
// those spawn, actors they create and calls they make to any actor.
// Lineage is learned as events arrive, whatever their order, and decided
// when an event leaves the buffer. An event with a task (or, without one,
// an object: the object's creating task) is kept when that task is the
// run's; an event with neither (node alive or dead, a GCS warning) is the
// cluster's and is kept.
type liveStream struct {
	hold    time.Duration
	pending []liveRecord
	last    time.Time // when release last ran
	parents map[transport.TaskID]transport.TaskID
	roots   map[transport.TaskID]bool
	mine    map[transport.TaskID]bool // tasks found to be the run's (memo)
	emit    func(at time.Time, ev *transport.Event)
	net     func(at time.Time, ev *netsim.Event) // the faults the run applied (addNet)
	// others counts the events left out as other jobs'.
	others uint64
	// maxLag is the largest delay seen from an event's time to its
	// arrival (by the receiving clock).
	maxLag time.Duration
}

// grace is how long to wait at the end of the run for the last events:
// the largest lag seen plus a margin, at least min, at most liveMaxHold.
func (l *liveStream) grace(least time.Duration) time.Duration {
	return max(least, min(l.maxLag+liveMargin, liveMaxHold))
}

type liveRecord struct {
	at  time.Time
	ev  transport.Event
	net *netsim.Event // a fault the run applied instead (ev unused)
}

func newLiveStream(hold time.Duration, emit func(time.Time, *transport.Event)) *liveStream {
	return &liveStream{hold: hold, emit: emit, parents: map[transport.TaskID]transport.TaskID{},
		roots: map[transport.TaskID]bool{}, mine: map[transport.TaskID]bool{}}
}

// setRoots makes ids (the run's drivers' root tasks) the run's.
func (l *liveStream) setRoots(ids []transport.TaskID) {
	for _, id := range ids {
		l.roots[id] = true
	}
}

// add takes one event that happened at at; now is the receiving clock,
// which releases what is old enough.
func (l *liveStream) add(at time.Time, ev *transport.Event, now time.Time) {
	if ev.Kind == transport.EvTaskSubmitted && ev.Object.Task != 0 {
		if _, ok := l.parents[ev.Task]; !ok {
			l.parents[ev.Task] = ev.Object.Task
		}
	}
	if lag := now.Sub(at); lag > l.maxLag {
		l.maxLag = lag
		l.hold = max(l.hold, min(lag+liveMargin, liveMaxHold))
	}
	l.pending = append(l.pending, liveRecord{at: at, ev: *ev})
	if now.Sub(l.last) >= liveReleaseEvery {
		l.last = now
		l.releaseUpTo(now.Add(-l.hold), false)
	}
}

// addNet takes a fault the run applied at at (a netsim event, as the
// simulator traces it), to go out in its place among the runtime events.
func (l *liveStream) addNet(at time.Time, ev *netsim.Event) {
	l.pending = append(l.pending, liveRecord{at: at, net: ev})
}

// flush releases every event held.
func (l *liveStream) flush() { l.releaseUpTo(time.Time{}, true) }

// releaseUpTo passes on, in order, the held events that happened at or
// before w (all of them with all).
func (l *liveStream) releaseUpTo(w time.Time, all bool) {
	if len(l.pending) == 0 {
		return
	}
	// Stable: equal (time, node) keep their arrival order.
	slices.SortStableFunc(l.pending, func(a, b liveRecord) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.ev.Node, b.ev.Node)
	})
	n := len(l.pending)
	if !all {
		n, _ = slices.BinarySearchFunc(l.pending, w, func(r liveRecord, w time.Time) int {
			if r.at.After(w) {
				return 1
			}
			return -1
		})
	}
	for i := range l.pending[:n] {
		r := &l.pending[i]
		if r.net != nil {
			l.net(r.at, r.net)
		} else if l.ours(&r.ev) {
			l.emit(r.at, &r.ev)
		} else {
			l.others++
		}
	}
	rest := copy(l.pending, l.pending[n:])
	clear(l.pending[rest:])
	l.pending = l.pending[:rest]
}

// ours reports whether ev is the run's (see liveStream).
func (l *liveStream) ours(ev *transport.Event) bool {
	id := ev.Task
	if id == 0 {
		id = ev.Object.Task
	}
	if id == 0 {
		return true // the cluster's
	}
	return l.ofRun(id)
}

// ofRun reports whether task id descends from one of the run's roots, as
// far as the task.submitted events seen so far tell.
func (l *liveStream) ofRun(id transport.TaskID) bool {
	var path []transport.TaskID
	for t := id; len(path) <= len(l.parents); {
		if l.roots[t] || l.mine[t] {
			for _, p := range path {
				l.mine[p] = true
			}
			return true
		}
		path = append(path, t)
		p, ok := l.parents[t]
		if !ok {
			return false
		}
		t = p
	}
	return false // a loop: IDs are hashes, so never
}
