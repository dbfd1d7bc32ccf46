package node

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"raysim/runtime/transport"
)

// Generator backpressure (Ray's _generator_backpressure_num_objects),
// between a generator task's executor and its owner (the caller's node):
//
//   - The executor: a generator run with a spec Backpressure of n stores
//     item i (Yield), then, while fewer than i-n+1 items are known taken,
//     blocks the generator's code and asks the owner (StreamWait, Need
//     i-n+1). As in Ray (GeneratorBackpressureWaiter), the blocked
//     generator keeps its CPU: it is not blocked in Get or Wait, and
//     giving its CPU back would let the node start more work than it has
//     room for, only to stall it when the caller catches up.
//   - The owner: the caller's Stream registers the stream (OpenStream) and
//     reports each item it takes with Next (StreamTaken); the owner
//     answers an ask at once when enough are taken, else holds it (one per
//     asking node) until they are (StreamConsumed). A stream the caller
//     finished (CloseStream), or one the owner does not know (a later
//     incarnation of the owner; a rebuild's owner, which no caller
//     iterates), answers Gone: the generator runs on unthrottled, as Ray's
//     executor does once the caller deleted its ObjectRefGenerator. A task
//     or method call closes the streams it left unfinished as it ends.
//
// A cancel ends a blocked yield (ErrCancelled, as any block of a normal
// task); the executor's node dying ends the run, which its owner retries
// as any (the retry throttles against the items taken so far); the
// owner's death, announced by the GCS (NodeDead), ends a blocked yield
// and every later one of the run with ErrOwnerDied, as Ray's raylet kills
// the workers of a dead owner's tasks (a task fate-shares with its
// owner): nobody is left to take the items.

// ErrOwnerDied is what a backpressured generator's yield returns once the
// node that owns its stream (the caller's) is dead: the generator should
// stop, nobody will take its items.
var ErrOwnerDied = errors.New("ray: the stream's owner died")

// ErrActorEnded is what a generator method's yield blocked by
// backpressure returns when its actor ends (killed, its worker crashed,
// its node rejoined): the call's result will not be stored.
var ErrActorEnded = errors.New("ray: the generator's actor ended")

// genRun is a running generator task with backpressure, at its executor.
type genRun struct {
	t         *task
	consumed  uint32 // items the owner last said the caller took
	gone      bool   // the owner has no such stream: no more backpressure
	ownerDead bool   // the owner died: yields fail (ErrOwnerDied)
	wait      *flowWait
}

// flowWait is a yield blocked by backpressure (a blocker: a cancel ends
// it).
type flowWait struct {
	c    *Caller
	g    *genRun
	need uint32
	wake func()
	done bool
}

func (w *flowWait) interrupt() { w.end(ErrCancelled) }

// end ends the wait (on the loop) with err, the Yield's error (nil:
// enough items were taken).
func (w *flowWait) end(err error) {
	if w.done {
		return
	}
	w.done = true
	w.c.flowErr = err
	if w.g.wait == w {
		w.g.wait = nil
	}
	w.c.unblock(w)
	w.wake()
}

// trackGen registers a generator task with backpressure as it starts
// running here (its yields look it up: backpressure and its owner's
// death).
func (r *Raylet) trackGen(t *task) {
	if t.spec.Backpressure() == 0 {
		return
	}
	if a := t.actor; a != nil && a.creation.spec.A().Replay {
		return // its replay must do what it did: no blocking on a caller (see ReplayMethods)
	}
	if r.gens == nil {
		r.gens = make(map[transport.TaskID]*genRun)
	}
	r.gens[t.spec.ID] = &genRun{t: t}
}

// untrackGen forgets a run as it finishes.
func (r *Raylet) untrackGen(t *task) {
	if g := r.gens[t.spec.ID]; g != nil && g.t == t {
		delete(r.gens, t.spec.ID)
	}
}

// throttle blocks the generator code of c (on the loop, inside Yield's
// Await, wake its wake) after it stored item index, while the caller has
// taken too few items, and reports whether it blocked (the wait then
// wakes the code). A yield of a run whose owner died fails at once
// (c.flowErr).
func (r *Raylet) throttle(c *Caller, index uint32, wake func()) bool {
	g := r.gens[c.task]
	if g == nil || g.t != c.t {
		return false
	}
	if g.ownerDead {
		c.flowErr = ErrOwnerDied
		return false
	}
	if a := c.t.actor; a != nil && (a.dead || c.t.cancelled) {
		// A method call is not interrupted by its cancel, but its
		// yields stop blocking: nobody need take its items.
		c.flowErr = ErrCancelled
		if a.dead {
			c.flowErr = ErrActorEnded
		}
		return false
	}
	n := c.t.spec.Backpressure()
	if g.gone || index < n || g.consumed >= index-n+1 {
		return false
	}
	w := &flowWait{c: c, g: g, need: index - n + 1, wake: wake}
	g.wait = w
	if c.interruptible() {
		c.block(w)
	}
	if owner := c.t.spec.Owner; owner == r.self {
		r.streamWait(r.self, c.task, w.need)
	} else {
		r.send(owner, &transport.StreamWait{Task: c.task, Need: w.need})
	}
	return true
}

// streamConsumed takes the owner's word (StreamConsumed) of the items the
// caller took (from must be the run's owner).
func (r *Raylet) streamConsumed(from transport.NodeID, task transport.TaskID, consumed uint32, gone bool) {
	g := r.gens[task]
	if g == nil || g.t.spec.Owner != from {
		return
	}
	g.consumed = max(g.consumed, consumed)
	g.gone = g.gone || gone
	if w := g.wait; w != nil && (g.gone || g.consumed >= w.need) {
		w.end(nil)
	}
}

// genOwnerDied ends the backpressure of the generators running here that
// the dead node owned: each blocked or later yield fails with
// ErrOwnerDied.
func (r *Raylet) genOwnerDied(node transport.NodeID) {
	if len(r.gens) == 0 {
		return
	}
	var ids []transport.TaskID
	for id, g := range r.gens {
		if g.t.spec.Owner == node {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, cmp.Compare)
	for _, id := range ids {
		g := r.gens[id]
		g.ownerDead = true
		if w := g.wait; w != nil {
			w.end(ErrOwnerDied)
		}
	}
}

// endCallFlow ends the blocked yield, if any, of a generator method call
// cancelled (ErrCancelled) or whose actor ended (ErrActorEnded).
func (r *Raylet) endCallFlow(t *task, err error) {
	if g := r.gens[t.spec.ID]; g != nil && g.t == t && g.wait != nil {
		g.wait.end(err)
	}
}

// endActorFlows ends the blocked yields of an ending actor's calls.
func (r *Raylet) endActorFlows(a *actorHost) {
	if len(r.gens) == 0 {
		return
	}
	if a.cur != nil {
		r.endCallFlow(a.cur, ErrActorEnded)
	}
	for _, t := range a.running {
		r.endCallFlow(t, ErrActorEnded)
	}
}

// streamFlow is a stream with backpressure at its owner: what its caller
// took, and the executors' asks held until it takes more.
type streamFlow struct {
	consumed uint32
	held     []heldAsk
}

// heldAsk is an executor's StreamWait held by the owner.
type heldAsk struct {
	from transport.NodeID
	need uint32
}

// streamWait answers, or holds, an executor's ask (StreamWait from
// from; see streamFlow).
func (r *Raylet) streamWait(from transport.NodeID, task transport.TaskID, need uint32) {
	st := r.streams[task]
	switch {
	case st == nil:
		r.answerStream(from, task, 0, true)
	case st.consumed >= need:
		r.answerStream(from, task, st.consumed, false)
	default:
		for i := range st.held {
			if st.held[i].from == from { // the node's last ask stands (a retry's run there)
				st.held[i].need = need
				return
			}
		}
		st.held = append(st.held, heldAsk{from: from, need: need})
	}
}

// answerStream tells the executor on node to (this one, or by a
// StreamConsumed) what the caller took of the stream, or that the stream
// is gone.
func (r *Raylet) answerStream(to transport.NodeID, task transport.TaskID, consumed uint32, gone bool) {
	if to == r.self {
		r.streamConsumed(r.self, task, consumed, gone)
		return
	}
	r.send(to, &transport.StreamConsumed{Task: task, Consumed: consumed, Gone: gone})
}

// OpenStream registers a stream with backpressure that the caller
// submitted (task), before its generator can ask about it. A task's or
// method call's streams close when it ends (closeStreams).
func (c *Caller) OpenStream(task transport.TaskID) {
	c.r.env.Await(func(wake func()) {
		r := c.r
		if r.streams == nil {
			r.streams = make(map[transport.TaskID]*streamFlow)
		}
		if r.streams[task] == nil {
			r.streams[task] = &streamFlow{}
			if c.t != nil {
				c.opened = append(c.opened, task)
			}
		}
		wake()
	})
}

// closeStreams closes the streams a task or method call opened and left
// unfinished, as it ends (on the loop): nobody can take their items any
// more, and their generators run on unthrottled, as Ray's executor does
// once the caller's ObjectRefGenerator is collected.
func (r *Raylet) closeStreams(c *Caller) {
	for _, task := range c.opened {
		r.closeStream(task)
	}
	c.opened = nil
}

// closeStream forgets a stream at its owner, answering its held asks
// Gone (nothing more will be taken), as it will later ones.
func (r *Raylet) closeStream(task transport.TaskID) {
	if st := r.streams[task]; st != nil {
		delete(r.streams, task)
		for _, h := range st.held {
			r.answerStream(h.from, task, st.consumed, true)
		}
	}
}

// StreamTaken tells the owner that the caller has taken n items of the
// stream (Next): the asks it held that this satisfies are answered.
func (c *Caller) StreamTaken(task transport.TaskID, n uint32) {
	c.r.env.Await(func(wake func()) {
		r := c.r
		if st := r.streams[task]; st != nil && n > st.consumed {
			st.consumed = n
			kept := st.held[:0]
			for _, h := range st.held {
				if h.need <= n {
					r.answerStream(h.from, task, n, false)
				} else {
					kept = append(kept, h)
				}
			}
			st.held = kept
		}
		wake()
	})
}

// CloseStream forgets a stream the caller has finished: its held asks are
// answered Gone (nothing more will be taken), and so are later ones.
func (c *Caller) CloseStream(task transport.TaskID) {
	c.r.env.Await(func(wake func()) {
		c.r.closeStream(task)
		wake()
	})
}

// StreamEnd tells the owner of a generator task's re-run (a retry, a
// rebuild: spec Attempt above 0) how many items the run yielded, as it
// ends (count): items past it that an earlier run yielded will not come
// again, and the owner fails its readers of them (onStreamEnded). A first
// run sends nothing.
func (c *Caller) StreamEnd(count uint32) {
	if c.t == nil || c.t.spec.Attempt == 0 && !c.t.spec.Rebuild {
		return
	}
	c.r.env.Await(func(wake func()) {
		r := c.r
		m := &transport.StreamEnded{Task: c.task, Count: count}
		if c.t.spec.Owner == r.self {
			r.onStreamEnded(m)
		} else {
			r.send(c.t.spec.Owner, m)
		}
		wake()
	})
}

// onStreamEnded fails the readers here of the items of a generator task
// past the count a re-run of it yielded: no run will make them again (a
// run is expected to yield what the first did). They get
// ErrKindReplayInconsistent, as Ray's owner fails a replay that yields a
// different count (StreamingGeneratorReplayInconsistentError) rather
// than let its readers hang. Objects of another kind (a Put, a fixed
// return) are left alone.
//
// A Wait here on an item together with the stream's end (a Stream's Next)
// is left alone: the end comes, and tells Next the stream is over.
func (r *Raylet) onStreamEnded(m *transport.StreamEnded) {
	_, nextWaits := r.located[transport.ObjectID{Task: m.Task}]
	for _, id := range r.awaitedOf(m.Task) {
		if id.Put || id.Index <= m.Count || r.store.Contains(id) {
			continue
		}
		if _, waited := r.located[id]; waited && nextWaits && r.fetchOf(id) == nil {
			continue
		}
		why := fmt.Sprintf("object %s lost: its generator's re-run yielded %d items, fewer than the run that made it", id, m.Count)
		r.emit(transport.Event{Kind: transport.EvObjectLost, Node: r.self, Object: id, Detail: why})
		e, evicted, _, _ := r.store.PutAt(nil, id, errValue(transport.ErrKindReplayInconsistent, why), false)
		r.evicted(evicted)
		r.wake(id, e)
	}
}
