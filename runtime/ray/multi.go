package ray

import (
	"context"
	"fmt"
	"reflect"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Remote functions of several returns (Ray's num_returns, the paper's
// num_return_vals): the task makes one object per return, each its own Ref,
// which can be got, waited for, passed to another task and freed on its
// own, and each sized by its own value (a Blob's virtual size). A failure of
// the task (its error, a panic, its retries spent, a cancel) fails every
// return with the same error; lineage reconstruction of a lost return runs
// the task again and makes all of them again.
//
// Register0x2 ... Register2x3 register functions of a fixed number of
// returns of their own types (0 to 2 arguments, 2 or 3 returns); Register0xN
// ... Register2xN register functions of one result type whose count the
// caller fixes at each call (FuncN.Remote's n), as Ray's
// f.options(num_returns=n).remote(): a function that returns another count
// than asked fails the task ("returned 3 values, but num_returns is 2").

// multiFunc is what a function of several returns is, whatever its
// result types: its name, options and parameters.
type multiFunc struct {
	name string
	opts options
	sig  *params
}

// submit checks and submits a call of f with n returns and returns its
// task's ID.
func (f *multiFunc) submit(ctx context.Context, n int, args []any) (transport.TaskID, error) {
	c, cerr := caller(ctx)
	if cerr != nil {
		return 0, cerr
	}
	spec := &transport.TaskSpec{Func: f.name, NumReturns: uint32(n)}
	if err := f.opts.apply(spec, c.CaptureGroup(), registryOf(ctx)); err != nil {
		return 0, err
	}
	if err := encodeArgs(spec, f.name, f.sig, args); err != nil {
		return 0, err
	}
	return c.Submit(spec), nil
}

// refAt is return i of task id, or a ref carrying err.
func refAt[R any](id transport.TaskID, i uint32, err error) Ref[R] {
	if err != nil {
		return Ref[R]{err: err}
	}
	return Ref[R]{id: transport.ObjectID{Task: id, Index: i}}
}

// Func2 is a registered remote function with two returns, of types R1 and
// R2 (Register0x2, Register1x2, Register2x2).
type Func2[R1, R2 any] struct{ f multiFunc }

// Name is the registered name ("" for a nil *Func2).
func (f *Func2[R1, R2]) Name() string {
	if f == nil {
		return ""
	}
	return f.f.name
}

// Options returns a copy of f with options applied (like Ray's .options());
// a task of several returns takes the options any task does. On a nil
// *Func2 it returns nil, whose Remote reports the mistake.
func (f *Func2[R1, R2]) Options(o ...Option) *Func2[R1, R2] {
	if f == nil {
		return nil
	}
	g := *f
	g.f.opts = f.f.opts.with(o)
	return &g
}

// Remote submits the function with args, checked as Func.Remote checks
// them, and returns a reference to each of its results, as Ray's
// r1, r2 = f.remote(). A submission that fails is each ref's Err.
func (f *Func2[R1, R2]) Remote(ctx context.Context, args ...any) (Ref[R1], Ref[R2]) {
	if f == nil {
		err := fmt.Errorf("%w: Remote on a nil *Func2 (not registered)", ErrUnknownFunction)
		return Ref[R1]{err: err}, Ref[R2]{err: err}
	}
	id, err := f.f.submit(ctx, 2, args)
	return refAt[R1](id, 0, err), refAt[R2](id, 1, err)
}

// Func3 is a registered remote function with three returns, of types R1,
// R2 and R3 (Register0x3, Register1x3, Register2x3).
type Func3[R1, R2, R3 any] struct{ f multiFunc }

// Name is the registered name ("" for a nil *Func3).
func (f *Func3[R1, R2, R3]) Name() string {
	if f == nil {
		return ""
	}
	return f.f.name
}

// Options returns a copy of f with options applied (like Ray's .options()).
// On a nil *Func3 it returns nil, whose Remote reports the mistake.
func (f *Func3[R1, R2, R3]) Options(o ...Option) *Func3[R1, R2, R3] {
	if f == nil {
		return nil
	}
	g := *f
	g.f.opts = f.f.opts.with(o)
	return &g
}

// Remote submits the function with args, checked as Func.Remote checks
// them, and returns a reference to each of its results. A submission that
// fails is each ref's Err.
func (f *Func3[R1, R2, R3]) Remote(ctx context.Context, args ...any) (Ref[R1], Ref[R2], Ref[R3]) {
	if f == nil {
		err := fmt.Errorf("%w: Remote on a nil *Func3 (not registered)", ErrUnknownFunction)
		return Ref[R1]{err: err}, Ref[R2]{err: err}, Ref[R3]{err: err}
	}
	id, err := f.f.submit(ctx, 3, args)
	return refAt[R1](id, 0, err), refAt[R2](id, 1, err), refAt[R3](id, 2, err)
}

// FuncN is a registered remote function returning a number of results of
// type R that each call fixes (Register0xN, Register1xN, Register2xN).
type FuncN[R any] struct{ f multiFunc }

// Name is the registered name ("" for a nil *FuncN).
func (f *FuncN[R]) Name() string {
	if f == nil {
		return ""
	}
	return f.f.name
}

// Options returns a copy of f with options applied (like Ray's .options()).
// On a nil *FuncN it returns nil, whose Remote reports the mistake.
func (f *FuncN[R]) Options(o ...Option) *FuncN[R] {
	if f == nil {
		return nil
	}
	g := *f
	g.f.opts = f.f.opts.with(o)
	return &g
}

// ErrReturnCount: a FuncN called for a number of returns it cannot have
// (below 1, or above transport.MaxReturns).
var ErrReturnCount = fmt.Errorf("%w: number of returns", ErrInvalidOption)

// Remote submits the function with args, checked as Func.Remote checks
// them, for n results (Ray's num_returns=n), and returns a reference to
// each. The function must return exactly n values: another count fails
// every return with an error saying so (Get's ErrTaskFailed). An n below 1
// or above transport.MaxReturns is ErrReturnCount, a failed submission its
// error, with no refs.
func (f *FuncN[R]) Remote(ctx context.Context, n int, args ...any) ([]Ref[R], error) {
	if f == nil {
		return nil, fmt.Errorf("%w: Remote on a nil *FuncN (not registered)", ErrUnknownFunction)
	}
	if n < 1 || n > transport.MaxReturns {
		return nil, fmt.Errorf("%w: %s asked for %d returns (1 to %d)", ErrReturnCount, f.f.name, n, transport.MaxReturns)
	}
	id, err := f.f.submit(ctx, n, args)
	if err != nil {
		return nil, err
	}
	refs := make([]Ref[R], n)
	for i := range refs {
		refs[i] = refAt[R](id, uint32(i), nil)
	}
	return refs, nil
}

// MultiFunc implements node.Registry: a function of several returns.
func (r *Registry) MultiFunc(name string) (node.MultiFunc, bool) {
	f, ok := r.multi[name]
	return f, ok
}

// addMulti registers fn (the user's function, for the signature) as name
// in wire form w.
func (r *Registry) addMulti(name string, fn any, w node.MultiFunc, types ...reflect.Type) multiFunc {
	r.add(name, fn)
	r.multi[name] = withCausesMulti(w)
	return multiFunc{name: name, opts: defaultOptions(), sig: paramsOf(name, types...)}
}

// decodeArgs decodes the arguments of a function of several returns, one
// per decode; a failure is the task's ErrKindDecode value as the only
// result (which fails every return with it).
func decodeArgs(name string, args []transport.Value, decode ...func(transport.Value) error) []transport.Value {
	if err := arity(name, args, len(decode)); err != nil {
		return []transport.Value{{ErrKind: transport.ErrKindTask, Data: []byte(err.Error())}}
	}
	for i, d := range decode {
		if err := d(args[i]); err != nil {
			v, _ := argError(name, i+1, err)
			return []transport.Value{v}
		}
	}
	return nil
}

// into returns a decode of one argument into *p.
func into[A any](p *A) func(transport.Value) error {
	return func(v transport.Value) error {
		a, err := Decode[A](v)
		*p = a
		return err
	}
}

// encodeAll encodes a task's results, one value per return.
func encodeAll(vs ...any) ([]transport.Value, error) { return encodeList(vs, nil) }

// encodeList encodes the results of a FuncN, one value per return.
func encodeList[R any](rs []R, err error) ([]transport.Value, error) {
	if err != nil {
		return nil, err
	}
	out := make([]transport.Value, len(rs))
	for i, v := range rs {
		e, err := Encode(v)
		if err != nil {
			return nil, fmt.Errorf("return %d: %w", i+1, err)
		}
		out[i] = e
	}
	return out, nil
}

// Register0x2 registers a remote function without arguments and with two
// returns.
func Register0x2[R1, R2 any](r *Registry, name string, fn func(context.Context) (R1, R2, error)) *Func2[R1, R2] {
	return &Func2[R1, R2]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, _ int) ([]transport.Value, error) {
		if bad := decodeArgs(name, args); bad != nil {
			return bad, nil
		}
		r1, r2, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2)
	})}
}

// Register1x2 registers a remote function of one argument with two
// returns.
func Register1x2[A, R1, R2 any](r *Registry, name string, fn func(context.Context, A) (R1, R2, error)) *Func2[R1, R2] {
	return &Func2[R1, R2]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		if bad := decodeArgs(name, args, into(&a)); bad != nil {
			return bad, nil
		}
		r1, r2, err := fn(ctx, a)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2)
	}, reflect.TypeFor[A]())}
}

// Register2x2 registers a remote function of two arguments with two
// returns.
func Register2x2[A, B, R1, R2 any](r *Registry, name string, fn func(context.Context, A, B) (R1, R2, error)) *Func2[R1, R2] {
	return &Func2[R1, R2]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		var b B
		if bad := decodeArgs(name, args, into(&a), into(&b)); bad != nil {
			return bad, nil
		}
		r1, r2, err := fn(ctx, a, b)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2)
	}, reflect.TypeFor[A](), reflect.TypeFor[B]())}
}

// Register0x3 registers a remote function without arguments and with
// three returns.
func Register0x3[R1, R2, R3 any](r *Registry, name string, fn func(context.Context) (R1, R2, R3, error)) *Func3[R1, R2, R3] {
	return &Func3[R1, R2, R3]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, _ int) ([]transport.Value, error) {
		if bad := decodeArgs(name, args); bad != nil {
			return bad, nil
		}
		r1, r2, r3, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2, r3)
	})}
}

// Register1x3 registers a remote function of one argument with three
// returns.
func Register1x3[A, R1, R2, R3 any](r *Registry, name string, fn func(context.Context, A) (R1, R2, R3, error)) *Func3[R1, R2, R3] {
	return &Func3[R1, R2, R3]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		if bad := decodeArgs(name, args, into(&a)); bad != nil {
			return bad, nil
		}
		r1, r2, r3, err := fn(ctx, a)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2, r3)
	}, reflect.TypeFor[A]())}
}

// Register2x3 registers a remote function of two arguments with three
// returns.
func Register2x3[A, B, R1, R2, R3 any](r *Registry, name string, fn func(context.Context, A, B) (R1, R2, R3, error)) *Func3[R1, R2, R3] {
	return &Func3[R1, R2, R3]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		var b B
		if bad := decodeArgs(name, args, into(&a), into(&b)); bad != nil {
			return bad, nil
		}
		r1, r2, r3, err := fn(ctx, a, b)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2, r3)
	}, reflect.TypeFor[A](), reflect.TypeFor[B]())}
}

// Register0xN registers a remote function without arguments returning as
// many results of type R as each call asks for (FuncN.Remote's n, which
// the function is told as ReturnsOf(ctx)).
func Register0xN[R any](r *Registry, name string, fn func(context.Context) ([]R, error)) *FuncN[R] {
	return &FuncN[R]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, n int) ([]transport.Value, error) {
		if bad := decodeArgs(name, args); bad != nil {
			return bad, nil
		}
		return encodeList(fn(withReturns(ctx, n)))
	})}
}

// Register1xN registers a remote function of one argument returning as
// many results of type R as each call asks for (see Register0xN).
func Register1xN[A, R any](r *Registry, name string, fn func(context.Context, A) ([]R, error)) *FuncN[R] {
	return &FuncN[R]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, n int) ([]transport.Value, error) {
		var a A
		if bad := decodeArgs(name, args, into(&a)); bad != nil {
			return bad, nil
		}
		return encodeList(fn(withReturns(ctx, n), a))
	}, reflect.TypeFor[A]())}
}

// Register2xN registers a remote function of two arguments returning as
// many results of type R as each call asks for (see Register0xN).
func Register2xN[A, B, R any](r *Registry, name string, fn func(context.Context, A, B) ([]R, error)) *FuncN[R] {
	return &FuncN[R]{r.addMulti(name, fn, func(ctx context.Context, args []transport.Value, n int) ([]transport.Value, error) {
		var a A
		var b B
		if bad := decodeArgs(name, args, into(&a), into(&b)); bad != nil {
			return bad, nil
		}
		return encodeList(fn(withReturns(ctx, n), a, b))
	}, reflect.TypeFor[A](), reflect.TypeFor[B]())}
}

// returnsKey keys the number of returns in a FuncN's context.
type returnsKey struct{}

// withReturns tells a FuncN's code how many results its call asked for.
func withReturns(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, returnsKey{}, n)
}

// ReturnsOf is, inside a function registered with Register0xN, Register1xN
// or Register2xN, the number of results its call asked for (FuncN.Remote's
// n), so the function can split its work that many ways; 1 elsewhere.
func ReturnsOf(ctx context.Context) int {
	if n, ok := ctx.Value(returnsKey{}).(int); ok {
		return n
	}
	return 1
}

// ActorMethod2 is a registered method of class S with two returns, of
// types R1 and R2 (Method0x2, Method1x2).
type ActorMethod2[S, R1, R2 any] struct{ m methodOf }

// ActorMethod3 is a registered method of class S with three returns, of
// types R1, R2 and R3 (Method0x3, Method1x3, Method2x3).
type ActorMethod3[S, R1, R2, R3 any] struct{ m methodOf }

// ActorMethodN is a registered method of class S returning a number of
// results of type R that each call fixes (Method0xN, Method1xN).
type ActorMethodN[S, R any] struct{ m methodOf }

// methodOf is what a method of several returns is, whatever its types.
type methodOf struct {
	name string
	fn   string // "Class.method"
	opts options
	sig  *params
}

// addMultiMethod registers a method of several returns as addMethod does
// a method of one.
func addMultiMethod[S any](c *ActorClass[S], name string, sig any, types []reflect.Type, m node.MultiMethod) methodOf {
	fn, o := newMethod(c, name, sig)
	if c.typ.MultiMethods == nil {
		c.typ.MultiMethods = map[string]node.MultiMethod{}
	}
	c.typ.MultiMethods[fn] = multiMethodWithCauses(m)
	return methodOf{name: name, fn: fn, opts: o, sig: paramsOf(fn, types...)}
}

// call submits a call of m on h with n returns.
func (m *methodOf) call(ctx context.Context, h callTarget, n int, args []any) (transport.TaskID, error) {
	cl, cerr := caller(ctx)
	if cerr != nil {
		return 0, cerr
	}
	return submitCall(ctx, cl, h, m.name, m.fn, &m.opts, m.sig, uint32(n), args)
}

// Options returns a copy of the method with options applied (Name,
// Duration, MaxRetries and ConcurrencyGroup, as ActorMethod's). On a nil method it returns
// nil, whose Remote reports the mistake.
func (m *ActorMethod2[S, R1, R2]) Options(o ...Option) *ActorMethod2[S, R1, R2] {
	if m == nil {
		return nil
	}
	d := *m
	d.m.opts = m.m.opts.with(o)
	return &d
}

// Remote calls the method on the actor and returns a reference to each of
// its results; the arguments are checked as ActorMethod.Remote checks
// them, and a failed submission is each ref's Err.
func (m *ActorMethod2[S, R1, R2]) Remote(ctx context.Context, h ActorHandle[S], args ...any) (Ref[R1], Ref[R2]) {
	if m == nil {
		err := fmt.Errorf("%w: Remote on a nil *ActorMethod2 (not registered)", ErrUnknownFunction)
		return Ref[R1]{err: err}, Ref[R2]{err: err}
	}
	id, err := m.m.call(ctx, h.target(), 2, args)
	return refAt[R1](id, 0, err), refAt[R2](id, 1, err)
}

// Options returns a copy of the method with options applied (Name,
// Duration, MaxRetries and ConcurrencyGroup, as ActorMethod's). On a nil method it returns
// nil, whose Remote reports the mistake.
func (m *ActorMethod3[S, R1, R2, R3]) Options(o ...Option) *ActorMethod3[S, R1, R2, R3] {
	if m == nil {
		return nil
	}
	d := *m
	d.m.opts = m.m.opts.with(o)
	return &d
}

// Remote calls the method on the actor and returns a reference to each of
// its results, as ActorMethod2.Remote does.
func (m *ActorMethod3[S, R1, R2, R3]) Remote(ctx context.Context, h ActorHandle[S], args ...any) (Ref[R1], Ref[R2], Ref[R3]) {
	if m == nil {
		err := fmt.Errorf("%w: Remote on a nil *ActorMethod3 (not registered)", ErrUnknownFunction)
		return Ref[R1]{err: err}, Ref[R2]{err: err}, Ref[R3]{err: err}
	}
	id, err := m.m.call(ctx, h.target(), 3, args)
	return refAt[R1](id, 0, err), refAt[R2](id, 1, err), refAt[R3](id, 2, err)
}

// Options returns a copy of the method with options applied (Name,
// Duration and MaxRetries, as ActorMethod's). On a nil method it returns
// nil, whose Remote reports the mistake.
func (m *ActorMethodN[S, R]) Options(o ...Option) *ActorMethodN[S, R] {
	if m == nil {
		return nil
	}
	d := *m
	d.m.opts = m.m.opts.with(o)
	return &d
}

// Remote calls the method on the actor for n results and returns a
// reference to each, as FuncN.Remote does for a function.
func (m *ActorMethodN[S, R]) Remote(ctx context.Context, h ActorHandle[S], n int, args ...any) ([]Ref[R], error) {
	if m == nil {
		return nil, fmt.Errorf("%w: Remote on a nil *ActorMethodN (not registered)", ErrUnknownFunction)
	}
	if n < 1 || n > transport.MaxReturns {
		return nil, fmt.Errorf("%w: %s asked for %d returns (1 to %d)", ErrReturnCount, m.m.fn, n, transport.MaxReturns)
	}
	id, err := m.m.call(ctx, h.target(), n, args)
	if err != nil {
		return nil, err
	}
	refs := make([]Ref[R], n)
	for i := range refs {
		refs[i] = refAt[R](id, uint32(i), nil)
	}
	return refs, nil
}

// Method0x2 registers a method without arguments and with two returns.
func Method0x2[S, R1, R2 any](c *ActorClass[S], name string, fn func(context.Context, *S) (R1, R2, error)) *ActorMethod2[S, R1, R2] {
	return &ActorMethod2[S, R1, R2]{addMultiMethod(c, name, fn, nil, func(ctx context.Context, self any, args []transport.Value, _ int) ([]transport.Value, error) {
		if bad := decodeArgs(name, args); bad != nil {
			return bad, nil
		}
		r1, r2, err := fn(ctx, self.(*S))
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2)
	})}
}

// Method1x2 registers a method of one argument with two returns.
func Method1x2[S, A, R1, R2 any](c *ActorClass[S], name string, fn func(context.Context, *S, A) (R1, R2, error)) *ActorMethod2[S, R1, R2] {
	return &ActorMethod2[S, R1, R2]{addMultiMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A]()}, func(ctx context.Context, self any, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		if bad := decodeArgs(name, args, into(&a)); bad != nil {
			return bad, nil
		}
		r1, r2, err := fn(ctx, self.(*S), a)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2)
	})}
}

// Method2x2 registers a method of two arguments with two returns.
func Method2x2[S, A, B, R1, R2 any](c *ActorClass[S], name string, fn func(context.Context, *S, A, B) (R1, R2, error)) *ActorMethod2[S, R1, R2] {
	return &ActorMethod2[S, R1, R2]{addMultiMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}, func(ctx context.Context, self any, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		var b B
		if bad := decodeArgs(name, args, into(&a), into(&b)); bad != nil {
			return bad, nil
		}
		r1, r2, err := fn(ctx, self.(*S), a, b)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2)
	})}
}

// Method0x3 registers a method without arguments and with three returns.
func Method0x3[S, R1, R2, R3 any](c *ActorClass[S], name string, fn func(context.Context, *S) (R1, R2, R3, error)) *ActorMethod3[S, R1, R2, R3] {
	return &ActorMethod3[S, R1, R2, R3]{addMultiMethod(c, name, fn, nil, func(ctx context.Context, self any, args []transport.Value, _ int) ([]transport.Value, error) {
		if bad := decodeArgs(name, args); bad != nil {
			return bad, nil
		}
		r1, r2, r3, err := fn(ctx, self.(*S))
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2, r3)
	})}
}

// Method1x3 registers a method of one argument with three returns.
func Method1x3[S, A, R1, R2, R3 any](c *ActorClass[S], name string, fn func(context.Context, *S, A) (R1, R2, R3, error)) *ActorMethod3[S, R1, R2, R3] {
	return &ActorMethod3[S, R1, R2, R3]{addMultiMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A]()}, func(ctx context.Context, self any, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		if bad := decodeArgs(name, args, into(&a)); bad != nil {
			return bad, nil
		}
		r1, r2, r3, err := fn(ctx, self.(*S), a)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2, r3)
	})}
}

// Method2x3 registers a method of two arguments with three returns.
func Method2x3[S, A, B, R1, R2, R3 any](c *ActorClass[S], name string, fn func(context.Context, *S, A, B) (R1, R2, R3, error)) *ActorMethod3[S, R1, R2, R3] {
	return &ActorMethod3[S, R1, R2, R3]{addMultiMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}, func(ctx context.Context, self any, args []transport.Value, _ int) ([]transport.Value, error) {
		var a A
		var b B
		if bad := decodeArgs(name, args, into(&a), into(&b)); bad != nil {
			return bad, nil
		}
		r1, r2, r3, err := fn(ctx, self.(*S), a, b)
		if err != nil {
			return nil, err
		}
		return encodeAll(r1, r2, r3)
	})}
}

// Method0xN registers a method without arguments returning as many
// results of type R as each call asks for (ReturnsOf(ctx) in the method).
func Method0xN[S, R any](c *ActorClass[S], name string, fn func(context.Context, *S) ([]R, error)) *ActorMethodN[S, R] {
	return &ActorMethodN[S, R]{addMultiMethod(c, name, fn, nil, func(ctx context.Context, self any, args []transport.Value, n int) ([]transport.Value, error) {
		if bad := decodeArgs(name, args); bad != nil {
			return bad, nil
		}
		return encodeList(fn(withReturns(ctx, n), self.(*S)))
	})}
}

// Method1xN registers a method of one argument returning as many results
// of type R as each call asks for (ReturnsOf(ctx) in the method).
func Method1xN[S, A, R any](c *ActorClass[S], name string, fn func(context.Context, *S, A) ([]R, error)) *ActorMethodN[S, R] {
	return &ActorMethodN[S, R]{addMultiMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A]()}, func(ctx context.Context, self any, args []transport.Value, n int) ([]transport.Value, error) {
		var a A
		if bad := decodeArgs(name, args, into(&a)); bad != nil {
			return bad, nil
		}
		return encodeList(fn(withReturns(ctx, n), self.(*S), a))
	})}
}

// Method2xN registers a method of two arguments returning as many results
// of type R as each call asks for (ReturnsOf(ctx) in the method).
func Method2xN[S, A, B, R any](c *ActorClass[S], name string, fn func(context.Context, *S, A, B) ([]R, error)) *ActorMethodN[S, R] {
	return &ActorMethodN[S, R]{addMultiMethod(c, name, fn, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}, func(ctx context.Context, self any, args []transport.Value, n int) ([]transport.Value, error) {
		var a A
		var b B
		if bad := decodeArgs(name, args, into(&a), into(&b)); bad != nil {
			return bad, nil
		}
		return encodeList(fn(withReturns(ctx, n), self.(*S), a, b))
	})}
}
