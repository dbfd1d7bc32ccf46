package ray

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"reflect"
	"time"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Generator tasks (Ray's streaming generators, num_returns="streaming"): a
// remote function that yields values one at a time, each its own object,
// readable by the caller as soon as it is yielded while the task still
// runs. The caller iterates the refs in order (Stream.Next, Stream.All), as
// Ray's `for ref in gen.remote(): ray.get(ref)`.
//
// On the wire a generator task is a task of one return (NumReturns 1), the
// stream's end: return 0 holds the number of items once the generator has
// returned, or the task's failure when it fails as a whole (a cancel, its
// retries spent, an argument that does not decode). Item i (1, 2, ...) is
// return i, stored and announced by the executor as it is yielded
// (node.Caller.Yield). An error the generator returns, or a panic, after k
// items is item k+1 (its Get fails with ErrTaskFailed), and the end then
// counts k+1: the caller reads every item yielded before it, in order,
// then the error, then the end. Nothing else on the wire changed.
//
// Faults, as Ray's: a task whose node dies mid-stream is retried from the
// start (MaxRetries); the retry yields the same indices again, and the
// caller, which iterates by index, takes up at the first item it has not
// taken (items already taken are not delivered twice; a ref taken from
// the dead run reads the retry's copy). A yielded object lost after the
// task ended is rebuilt from lineage: the task runs again and makes every
// item (and the end) again.
// A re-run that yields fewer items than the run before it fails the
// owner's readers of the others (ErrStreamReplayInconsistent).
//
// Backpressure (GeneratorBackpressure, runtime/node/stream.go): the
// generator's yield blocks while n of its items are not taken by Next;
// the Stream reports each item it takes to its node, the owner, which
// answers the executor's asks.

// ErrStreamEnd is returned by Stream.Next once every item of the stream,
// and its error if it failed, has been taken (Python's StopIteration).
var ErrStreamEnd = errors.New("ray: end of stream")

// ErrStreamTooLong is what yield returns past a stream's last possible
// item (an item's index is a uint32 return index; one is kept for the
// error the generator may end with).
var ErrStreamTooLong = errors.New("ray: stream too long")

// maxItems bounds the items of one stream.
const maxItems = math.MaxUint32 - 1

// GenFunc is a registered generator function yielding values of type R
// (RegisterGen0, RegisterGen1, RegisterGen2).
type GenFunc[R any] struct {
	name string
	opts options
	sig  *params
}

// Name is the registered name ("" for a nil *GenFunc).
func (f *GenFunc[R]) Name() string {
	if f == nil {
		return ""
	}
	return f.name
}

// Options returns a copy of f with options applied (like Ray's
// .options()); a generator task takes the options any task does, and
// GeneratorBackpressure. RetryExceptions does not retry an error the
// generator returns: that error is an item of the stream. On a nil *GenFunc it returns nil, whose
// Remote reports the mistake.
func (f *GenFunc[R]) Options(o ...Option) *GenFunc[R] {
	if f == nil {
		return nil
	}
	g := *f
	g.opts = f.opts.with(o)
	return &g
}

// Remote submits the generator with args, checked as Func.Remote checks
// them, and returns its stream (Ray's ObjectRefGenerator). A failed
// submission is every Next's error.
func (f *GenFunc[R]) Remote(ctx context.Context, args ...any) *Stream[R] {
	if f == nil {
		return &Stream[R]{err: fmt.Errorf("%w: Remote on a nil *GenFunc (not registered)", ErrUnknownFunction)}
	}
	c, cerr := caller(ctx)
	if cerr != nil {
		return &Stream[R]{err: cerr}
	}
	spec := &transport.TaskSpec{Func: f.name, NumReturns: 1}
	if err := f.opts.apply(spec, c.CaptureGroup(), registryOf(ctx)); err != nil {
		return &Stream[R]{err: err}
	}
	if err := encodeArgs(spec, f.name, f.sig, args); err != nil {
		return &Stream[R]{err: err}
	}
	st := &Stream[R]{task: c.Submit(spec), next: 1}
	if spec.Backpressure() != 0 {
		// Registered before the generator can ask about it: the caller's
		// node answers for it (node.Caller.StreamTaken).
		st.flow = true
		c.OpenStream(st.task)
	}
	return st
}

// genOptions are a generator function's default options: a task's, and
// GeneratorBackpressure allowed.
func genOptions() options {
	o := defaultOptions()
	o.gen = true
	return o
}

// Stream is the caller's side of a generator task: the refs of its items
// in the order yielded (Ray's ObjectRefGenerator). It is not safe for use
// by several goroutines at once, and does not travel to other tasks: as
// Ray's ObjectRefGenerator, which is not serializable, a Stream given as
// a task's or method's argument (or inside one, or to Put) is refused at
// submission with ErrBadArgs (errStreamTravel); pass the refs of its
// items (Next, All) instead. A zero Stream (not made by a GenFunc's
// Remote) names no task: its Next fails with ErrZeroRef.
type Stream[R any] struct {
	task  transport.TaskID
	err   error  // the submission's failure
	next  uint32 // index of the next item to hand out
	count uint32 // the number of items, once the end is read
	ended bool   // the end was read: count is known
	done  bool   // everything was handed out
	// flow: the generator runs with backpressure (GeneratorBackpressure):
	// each item taken is reported to the caller's node, which lets the
	// generator run on, and the end closes the stream there.
	flow bool
}

// errStreamTravel is the error of a Stream given as a task's argument or
// put into an object: its reader would wait for good on items its node
// does not own (Ray refuses it too).
var errStreamTravel = fmt.Errorf("%w: a *Stream (a generator's handle) does not travel to other tasks or into objects, as Ray's ObjectRefGenerator; pass its items' refs (Next, All) instead", ErrBadArgs)

// errZeroStream is Next's error on a Stream no GenFunc's Remote made.
var errZeroStream = fmt.Errorf("%w: a zero Stream names no generator task (not made by a GenFunc's Remote)", ErrZeroRef)

// isStream marks a Stream for the argument check (encodeArgs).
func (Stream[R]) isStream() {}

// MarshalJSON refuses: a Stream does not travel (errStreamTravel), also
// inside another value or a Put.
func (Stream[R]) MarshalJSON() ([]byte, error) { return nil, errStreamTravel }

// UnmarshalJSON refuses: no encoding of a Stream exists (MarshalJSON);
// one read from the wire would be a zero Stream whose Next waited for
// good.
func (s *Stream[R]) UnmarshalJSON([]byte) error { return errStreamTravel }

// Task is the generator task's ID (0 if its submission failed).
func (s *Stream[R]) Task() transport.TaskID { return s.task }

// Err is the submission's failure, or nil.
func (s *Stream[R]) Err() error { return s.err }

// Ref is the stream's end object: its value is the number of items once
// the generator has returned, or the task's failure (Get returns it). It
// can be waited for, or given to Cancel.
func (s *Stream[R]) Ref() Ref[int] {
	if s.err != nil {
		return Ref[int]{err: s.err}
	}
	return Ref[int]{id: transport.ObjectID{Task: s.task}}
}

// Cancel cancels the generator task, as Cancel does a task: the running
// generator's next yield (or block) returns an error wrapping
// ErrCancelled, and the stream ends with that error as its next item
// (after the items yielded before the cancel that were not taken yet, as
// the task's GCS shard records them before the end; see
// docs/fault-tolerance.md).
func (s *Stream[R]) Cancel(ctx context.Context, opts ...CancelOption) error {
	return Cancel(ctx, s.Ref(), opts...)
}

// Next returns the ref of the next item, waiting until the generator has
// yielded it, or ErrStreamEnd once the stream is over. An error the
// generator returned (or a failure of the whole task: a cancel, its
// retries spent) comes as the ref of an item whose Get returns it, after
// every item yielded before it. A failed submission is every call's
// error.
func (s *Stream[R]) Next(ctx context.Context) (Ref[R], error) { return s.NextTimeout(ctx, -1) }

// NextTimeout is Next with a timeout (virtual time in netsim; <0: none; 0:
// a poll): ErrTimeout when it passes before the next item or the end; the
// stream is unchanged then, and the next call takes up where it was. The
// end (return 0) is read where it is: made on another node, it is
// fetched first, so a timeout may pass twice (waiting for the end, then
// reading it), and a poll that finds the end made waits for its fetch.
// A poll answers from what the caller's node knows: an item or end made
// on another node that it has not yet heard of is not ready (the poll
// asks the GCS, and a later poll finds it).
func (s *Stream[R]) NextTimeout(ctx context.Context, timeout time.Duration) (Ref[R], error) {
	if s == nil {
		return Ref[R]{}, fmt.Errorf("%w: a nil *Stream", ErrZeroRef)
	}
	if s.err != nil {
		return Ref[R]{}, s.err
	}
	if s.task == 0 {
		return Ref[R]{}, errZeroStream
	}
	if s.done {
		return Ref[R]{}, ErrStreamEnd
	}
	item := Ref[R]{id: transport.ObjectID{Task: s.task, Index: s.next}}
	if s.ended {
		if s.next <= s.count { // made before the end: it exists (or is rebuilt)
			s.next++
			return item, nil
		}
		s.finish(ctx)
		return Ref[R]{}, ErrStreamEnd
	}
	c, err := caller(ctx)
	if err != nil {
		return Ref[R]{}, err
	}
	end := transport.ObjectID{Task: s.task}
	ready, err := c.Wait(ctx, []transport.ObjectID{item.id, end}, 1, timeout)
	switch {
	case err != nil:
		return Ref[R]{}, fmt.Errorf("ray: next of stream %v: %w", s.task, err)
	case ready[0]:
		s.next++
		if s.flow {
			c.StreamTaken(s.task, s.next-1)
		}
		return item, nil
	case !ready[1]:
		return Ref[R]{}, fmt.Errorf("ray: next of stream %v: %w", s.task, ErrTimeout)
	}
	// The end came first: the count says whether items are still to be
	// taken (announced after it, or lost), or it is the task's failure.
	// It is made: a poll fetches it too (one pull), rather than answer
	// ErrTimeout for a stream that is over.
	read := timeout
	if read == 0 {
		read = -1
	}
	vs, err := c.Get(ctx, []transport.ObjectID{end}, read)
	if err != nil {
		return Ref[R]{}, fmt.Errorf("ray: next of stream %v: reading its end: %w", s.task, err)
	}
	if vs[0].ErrKind != transport.ErrKindNone {
		s.finish(ctx)
		return Ref[R]{id: end}, nil // its Get is the failure
	}
	n, err := Decode[int](vs[0])
	if err != nil || n < 0 || n > 1<<32-1 {
		return Ref[R]{}, fmt.Errorf("ray: next of stream %v: its end does not hold a count (%d): %w", s.task, n, err)
	}
	s.ended, s.count = true, uint32(n)
	return s.NextTimeout(ctx, timeout)
}

// finish marks the stream handed out, and closes it at the caller's node
// when it ran with backpressure.
func (s *Stream[R]) finish(ctx context.Context) {
	s.done = true
	if s.flow {
		s.flow = false
		if c, err := caller(ctx); err == nil {
			c.CloseStream(s.task)
		}
	}
}

// All iterates the stream's refs with Next (Go 1.23 range-over-func): a
// Next error other than ErrStreamEnd is yielded once, with a zero ref, and
// ends the iteration.
//
//	for ref, err := range stream.All(ctx) { ... }
func (s *Stream[R]) All(ctx context.Context) iter.Seq2[Ref[R], error] {
	return func(yield func(Ref[R], error) bool) {
		for {
			ref, err := s.Next(ctx)
			if errors.Is(err, ErrStreamEnd) {
				return
			}
			if !yield(ref, err) || err != nil {
				return
			}
		}
	}
}

// addGen registers a generator's body as name: a node.Func whose result
// is the stream's end.
func (r *Registry) addGen(name string, fn any, body node.Func, types ...reflect.Type) *params {
	r.add(name, fn)
	r.funcs[name] = withCauses(body)
	return paramsOf(name, types...)
}

// generate runs a generator's code (run) in a task: each value it yields
// becomes the next item, an error it returns or a panic the item after
// the last, and the result is the count (the stream's end). A cancel is
// the task's result (ErrCancelled), not an item.
func generate[R any](ctx context.Context, run func(yield func(R) error) error) (out transport.Value, err error) {
	c, cerr := caller(ctx)
	if cerr != nil {
		return transport.Value{}, cerr
	}
	var n uint32
	yield := func(v R) error {
		if n >= maxItems {
			return fmt.Errorf("%w: a stream of more than %d items", ErrStreamTooLong, maxItems)
		}
		val, err := Encode(v)
		if err != nil {
			return fmt.Errorf("yield of item %d: %w", n+1, err)
		}
		if err := c.Yield(n+1, val, false); err != nil {
			return fmt.Errorf("yield of item %d: %w", n+1, err)
		}
		n++
		return nil
	}
	if err := guard(func() error { return run(yield) }); err != nil {
		if c.Cancelled() {
			return transport.Value{}, err
		}
		reg, _ := c.Registry().(*Registry)
		ev := errorValue(reg, err)
		if yerr := c.Yield(n+1, ev, true); yerr != nil {
			return transport.Value{}, err
		}
		n++
	}
	c.StreamEnd(n) // a re-run's count: its owner fails readers of items past it
	return Encode(int(n))
}

// guard runs f, turning a panic of user code into an error ("panic: ...",
// as a task's). The simulator's unwinding of a crashed node's coroutines
// (a panic whose value has an Unwind method) goes on up.
func guard(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if _, unwind := p.(interface{ Unwind() }); unwind {
				panic(p)
			}
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

// RegisterGen0 registers a generator function without arguments: fn
// yields values with yield (which fails once the task is cancelled: stop
// then) and returns nil at the end of the stream, or an error, which is
// the stream's last item.
func RegisterGen0[R any](r *Registry, name string, fn func(ctx context.Context, yield func(R) error) error) *GenFunc[R] {
	sig := r.addGen(name, fn, func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 0); err != nil {
			return transport.Value{}, err
		}
		return generate(ctx, func(yield func(R) error) error { return fn(ctx, yield) })
	})
	return &GenFunc[R]{name: name, opts: genOptions(), sig: sig}
}

// RegisterGen1 registers a generator function of one argument (see
// RegisterGen0).
func RegisterGen1[A, R any](r *Registry, name string, fn func(ctx context.Context, a A, yield func(R) error) error) *GenFunc[R] {
	sig := r.addGen(name, fn, func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 1); err != nil {
			return transport.Value{}, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return argError(name, 1, err)
		}
		return generate(ctx, func(yield func(R) error) error { return fn(ctx, a, yield) })
	}, reflect.TypeFor[A]())
	return &GenFunc[R]{name: name, opts: genOptions(), sig: sig}
}

// RegisterGen2 registers a generator function of two arguments (see
// RegisterGen0).
func RegisterGen2[A, B, R any](r *Registry, name string, fn func(ctx context.Context, a A, b B, yield func(R) error) error) *GenFunc[R] {
	sig := r.addGen(name, fn, func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 2); err != nil {
			return transport.Value{}, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return argError(name, 1, err)
		}
		b, err := Decode[B](args[1])
		if err != nil {
			return argError(name, 2, err)
		}
		return generate(ctx, func(yield func(R) error) error { return fn(ctx, a, b, yield) })
	}, reflect.TypeFor[A](), reflect.TypeFor[B]())
	return &GenFunc[R]{name: name, opts: genOptions(), sig: sig}
}

// ActorGenMethod is a registered generator method of class S yielding
// values of type R (MethodGen0, MethodGen1), as Ray's generator actor
// methods: its calls run in the actor's order, as any method's.
type ActorGenMethod[S, R any] struct{ m methodOf }

// Options returns a copy of the method with options applied (Name,
// Duration, MaxRetries and ConcurrencyGroup, as ActorMethod's, and GeneratorBackpressure). On a nil method it returns
// nil, whose Remote reports the mistake.
func (m *ActorGenMethod[S, R]) Options(o ...Option) *ActorGenMethod[S, R] {
	if m == nil {
		return nil
	}
	d := *m
	d.m.opts = m.m.opts.with(o)
	return &d
}

// Remote calls the method on the actor and returns the call's stream; the
// arguments are checked as ActorMethod.Remote checks them, and a failed
// submission is every Next's error.
func (m *ActorGenMethod[S, R]) Remote(ctx context.Context, h ActorHandle[S], args ...any) *Stream[R] {
	if m == nil {
		return &Stream[R]{err: fmt.Errorf("%w: Remote on a nil *ActorGenMethod (not registered)", ErrUnknownFunction)}
	}
	id, err := m.m.call(ctx, h.target(), 1, args)
	if err != nil {
		return &Stream[R]{err: err}
	}
	st := &Stream[R]{task: id, next: 1}
	if m.m.opts.Backpressure > 0 {
		if c, err := caller(ctx); err == nil {
			st.flow = true
			c.OpenStream(id)
		}
	}
	return st
}

// addGenMethod registers a generator method's body as a method of one
// return (the stream's end).
func addGenMethod[S any](c *ActorClass[S], name string, sig any, types []reflect.Type, body node.Method) methodOf {
	fn, o := newMethod(c, name, sig)
	c.typ.Methods[fn] = methodWithCauses(body)
	o.gen = true
	return methodOf{name: name, fn: fn, opts: o, sig: paramsOf(fn, types...)}
}

// MethodGen0 registers a generator method without arguments (see
// RegisterGen0).
func MethodGen0[S, R any](c *ActorClass[S], name string, fn func(ctx context.Context, self *S, yield func(R) error) error) *ActorGenMethod[S, R] {
	return &ActorGenMethod[S, R]{addGenMethod(c, name, fn, nil, func(ctx context.Context, self any, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 0); err != nil {
			return transport.Value{}, err
		}
		return generate(ctx, func(yield func(R) error) error { return fn(ctx, self.(*S), yield) })
	})}
}

// MethodGen1 registers a generator method of one argument (see
// RegisterGen0).
func MethodGen1[S, A, R any](c *ActorClass[S], name string, fn func(ctx context.Context, self *S, a A, yield func(R) error) error) *ActorGenMethod[S, R] {
	return &ActorGenMethod[S, R]{addGenMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A]()}, func(ctx context.Context, self any, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 1); err != nil {
			return transport.Value{}, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return argError(name, 1, err)
		}
		return generate(ctx, func(yield func(R) error) error { return fn(ctx, self.(*S), a, yield) })
	})}
}
