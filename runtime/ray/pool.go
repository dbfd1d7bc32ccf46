package ray

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrPoolEmpty: GetNext or GetNextUnordered found no call to wait for
// (HasNext is false).
var ErrPoolEmpty = errors.New("ray: actor pool has no pending call")

// ActorPool spreads calls over a fixed set of actors, one call per actor
// at a time, as Ray's ray.util.ActorPool does: Submit runs a call on an
// idle actor, or queues it until one is free; GetNext returns results in
// submission order, GetNextUnordered as they come. An actor is free again
// once its result has been taken (by GetNext or GetNextUnordered), which
// is when a queued call starts on it.
//
// A pool belongs to one driver or task: it is not safe for concurrent use.
type ActorPool[S, R any] struct {
	idle    []ActorHandle[S]
	queued  []queuedCall[S, R]     // submitted, no actor free yet (in submission order)
	running map[int]poolCall[S, R] // by submission number
	next    int                    // the submission number of the next Submit
	taken   int                    // GetNext's position: the lowest number not yet returned
	done    map[int]bool           // returned out of order (GetNextUnordered)
}

type queuedCall[S, R any] struct {
	n    int
	call func(context.Context, ActorHandle[S]) Ref[R]
}

type poolCall[S, R any] struct {
	actor ActorHandle[S]
	ref   Ref[R]
}

// NewActorPool returns a pool of actors (their calls made by Submit).
func NewActorPool[S, R any](actors ...ActorHandle[S]) *ActorPool[S, R] {
	return &ActorPool[S, R]{idle: append([]ActorHandle[S](nil), actors...), running: map[int]poolCall[S, R]{}, done: map[int]bool{}}
}

// Submit makes call on an idle actor (call submits one method and returns
// its ref, e.g. func(ctx, a) Ref[R] { return step.Remote(ctx, a, x) }), or
// queues it until an actor is free. Calls start in submission order.
func (p *ActorPool[S, R]) Submit(ctx context.Context, call func(context.Context, ActorHandle[S]) Ref[R]) {
	p.queued = append(p.queued, queuedCall[S, R]{n: p.next, call: call})
	p.next++
	p.start(ctx)
}

// start runs queued calls while an actor is idle.
func (p *ActorPool[S, R]) start(ctx context.Context) {
	for len(p.queued) > 0 && len(p.idle) > 0 {
		a := p.idle[0]
		p.idle = p.idle[1:]
		q := p.queued[0]
		p.queued = p.queued[1:]
		p.running[q.n] = poolCall[S, R]{actor: a, ref: q.call(ctx, a)}
	}
}

// HasNext reports whether a submitted call's result is still to be taken.
func (p *ActorPool[S, R]) HasNext() bool { return len(p.running) > 0 || len(p.queued) > 0 }

// HasFree reports whether an actor is idle and no call waits for one.
func (p *ActorPool[S, R]) HasFree() bool { return len(p.idle) > 0 && len(p.queued) == 0 }

// Push adds an actor to the pool (idle; a queued call starts on it). An
// actor already in the pool is refused, as Ray's push refuses it: it would
// run two of the pool's calls at once.
func (p *ActorPool[S, R]) Push(ctx context.Context, a ActorHandle[S]) error {
	same := func(b ActorHandle[S]) bool { return b.id == a.id }
	if slices.ContainsFunc(p.idle, same) {
		return fmt.Errorf("ray: actor pool: actor %s is in the pool already", a.id)
	}
	for _, c := range p.running {
		if same(c.actor) {
			return fmt.Errorf("ray: actor pool: actor %s is in the pool already (running a call)", a.id)
		}
	}
	p.idle = append(p.idle, a)
	p.start(ctx)
	return nil
}

// PopIdle removes an idle actor from the pool and returns it (false if
// none is idle).
func (p *ActorPool[S, R]) PopIdle() (ActorHandle[S], bool) {
	if len(p.idle) == 0 {
		return ActorHandle[S]{}, false
	}
	a := p.idle[len(p.idle)-1]
	p.idle = p.idle[:len(p.idle)-1]
	return a, true
}

// GetNext returns the result of the oldest call not yet returned, waiting
// up to timeout for it (<0: no bound; ErrTimeout when it passes, the call
// still pending). The call's error (its actor died, the method failed) is
// returned as Get returns it; its actor is free again either way.
func (p *ActorPool[S, R]) GetNext(ctx context.Context, timeout time.Duration) (R, error) {
	var zero R
	for p.done[p.taken] {
		delete(p.done, p.taken)
		p.taken++
	}
	if !p.HasNext() {
		return zero, ErrPoolEmpty
	}
	c, ok := p.running[p.taken]
	if !ok {
		// Calls start in submission order, so the oldest is queued only
		// when the pool has no actor (PopIdle took them all).
		return zero, fmt.Errorf("ray: actor pool: call %d waits for an actor and none is in the pool", p.taken)
	}
	return p.take(ctx, p.taken, c, timeout)
}

// GetNextUnordered returns the result of whichever running call finishes
// first, waiting up to timeout (<0: no bound; ErrTimeout when it passes).
func (p *ActorPool[S, R]) GetNextUnordered(ctx context.Context, timeout time.Duration) (R, error) {
	var zero R
	if !p.HasNext() {
		return zero, ErrPoolEmpty
	}
	if len(p.running) == 0 {
		return zero, fmt.Errorf("ray: actor pool: %d calls wait for an actor and none is in the pool", len(p.queued))
	}
	nums := make([]int, 0, len(p.running))
	for n := range p.running {
		nums = append(nums, n)
	}
	slices.Sort(nums) // the oldest first, whatever the map's order
	for _, n := range nums {
		if c := p.running[n]; c.ref.refErr() != nil { // its submission failed: done, with that error
			return p.take(ctx, n, c, -1)
		}
	}
	refs := make([]Ref[R], len(nums))
	for i, n := range nums {
		refs[i] = p.running[n].ref
	}
	ready, _, err := Wait(ctx, refs, 1, timeout)
	if err != nil {
		return zero, err
	}
	if len(ready) == 0 {
		return zero, fmt.Errorf("%w: no call of the actor pool finished within %v", ErrTimeout, timeout)
	}
	for _, n := range nums {
		if c := p.running[n]; c.ref.id == ready[0].id {
			return p.take(ctx, n, c, -1)
		}
	}
	return zero, errors.New("ray: actor pool: Wait returned a ref the pool did not submit")
}

// take gets call n's result, frees its actor and starts a queued call.
// An error that is not the call's (a timeout, the context's end, a lost
// cluster) leaves the call pending and its actor busy.
func (p *ActorPool[S, R]) take(ctx context.Context, n int, c poolCall[S, R], timeout time.Duration) (R, error) {
	v, err := GetTimeout(ctx, c.ref, timeout)
	if err != nil && !callEnded(err) {
		return v, err
	}
	delete(p.running, n)
	if n == p.taken {
		p.taken++
	} else {
		p.done[n] = true // taken out of order: GetNext skips it
	}
	p.idle = append(p.idle, c.actor)
	p.start(ctx)
	return v, err
}

// callEnded reports whether a Get's error is the call's own outcome (the
// method failed, the actor died, the call was cancelled...), not the
// reader's: a timeout, its context's end, a closed or lost cluster.
func callEnded(err error) bool {
	for _, e := range []error{ErrTimeout, context.Canceled, context.DeadlineExceeded, ErrNotInRay, ErrHeadLost, ErrRemoved, ErrClosed} {
		if errors.Is(err, e) {
			return false
		}
	}
	return true
}
