package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/gcs"
	"raysim/runtime/objstore"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
)

// clockEnv is hostileEnv with timers: After records them, advance runs
// those due, in order, moving the clock.
type clockEnv struct {
	*hostileEnv
	t0     time.Time
	timers []clockTimer
	seq    int
}

type clockTimer struct {
	at  time.Time
	seq int
	f   func()
}

func (e *clockEnv) After(d time.Duration, f func()) transport.Timer {
	e.seq++
	e.timers = append(e.timers, clockTimer{at: e.now.Add(d), seq: e.seq, f: f})
	return noTimer{}
}

// advance runs the timers due by now+d in order, calling each(now) after
// every one (and once at the end).
func (e *clockEnv) advance(d time.Duration, each func()) {
	end := e.now.Add(d)
	for {
		best := -1
		for i, tm := range e.timers {
			if !tm.at.After(end) && (best < 0 || tm.at.Before(e.timers[best].at) || tm.at.Equal(e.timers[best].at) && tm.seq < e.timers[best].seq) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		tm := e.timers[best]
		e.timers = append(e.timers[:best], e.timers[best+1:]...)
		if tm.at.After(e.now) {
			e.now = tm.at
		}
		tm.f()
		each()
	}
	e.now = end
	each()
}

func clockRaylet(t *testing.T, chunk int64) (*Raylet, *clockEnv) {
	t.Helper()
	env := &clockEnv{hostileEnv: &hostileEnv{self: 1, now: time.Unix(0, 0)}}
	env.t0 = env.now
	l := &gcs.Layout{Shards: []transport.NodeID{50}, Scheduler: 60, Raylets: []transport.NodeID{1, 7, 8}}
	pol, err := scheduler.NewPolicy("")
	require.NoError(t, err)
	r := New(env, Config{Layout: l, Resources: transport.MakeResources(1, 0, nil), Policy: pol, ChunkBytes: chunk, Incarnation: 1})
	r.registered = true
	r.renewLease(r.since())
	env.timers = nil // the raylet's own start-up timers: not what is tested
	return r, env
}

// TestAnsweredProbeAsksForTheRest: the request of an 8-chunk pull is lost
// (a TCP deployment drops frames on a write failure). After 1 s the pull
// asks its source again — a probe, for chunk 0 only — and the chunk comes
// back at once: the source is alive and its link idle. Nothing then asks
// for chunks 1-7 until the probe's attempt times out (2 s of backoff from
// the probe, then 1 s more without a chunk): some 3 s lost after the
// answer, on top of the first timeout.
func TestAnsweredProbeAsksForTheRest(t *testing.T) {
	const chunk = 1 << 20
	r, env := clockRaylet(t, chunk)
	id := transport.ObjectID{Task: 77}
	r.need(id, waitFunc(func(*objstore.Entry) {}))
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 8 * chunk})
	require.True(t, r.fetchOf(id).pulling)
	env.sent = nil // the first PullRequest is lost

	var probe *transport.PullRequest
	var probedAt time.Time
	var rest *transport.PullRequest
	var restAt time.Time
	answer := func() { // the GCS and the source, as they would answer, at once
		for len(env.sent) > 0 && rest == nil {
			sent := env.sent
			env.sent = nil
			for _, m := range sent {
				switch m := m.(type) {
				case *transport.GcsSubscribeObject:
					r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 8 * chunk})
				case *transport.PullRequest:
					switch {
					case probe == nil:
						probe, probedAt = m, env.now
						require.Equal(t, []transport.ChunkRange{{First: 0, End: 1}}, m.Chunks, "the second request is a probe")
						r.Handle(7, &transport.ObjectChunk{Object: id, Offset: 0, Total: 8 * chunk, Virtual: chunk})
					case rest == nil:
						rest, restAt = m, env.now
					}
				}
			}
		}
	}
	env.advance(20*time.Second, func() {
		if rest == nil {
			answer()
		}
	})
	require.NotNil(t, probe, "the pull never asked again")
	require.NotNil(t, rest, "the pull never asked for the chunks after the probe's")
	wait := restAt.Sub(probedAt)
	t.Logf("probe at %v, the rest %v asked %v later", probedAt.Sub(env.t0), rest.Chunks, wait)
	require.LessOrEqual(t, wait, time.Second, "the probe's chunk came back at once, but the rest was asked for %v later", wait)
}
