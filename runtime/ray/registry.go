package ray

import (
	"context"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Registry is the function table: remote functions and actor classes by
// name. Every process of a cluster registers the same set (they run the same
// binary); a node whose set differs is refused by the GCS. The Register
// functions panic when a name (function, actor class or method) is
// registered twice: a programming error, found at init.
type Registry struct {
	funcs  map[string]node.Func
	actors map[string]*node.ActorType
	sigs   map[string]string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{funcs: map[string]node.Func{}, actors: map[string]*node.ActorType{}, sigs: map[string]string{}}
}

// Func implements node.Registry.
func (r *Registry) Func(name string) (node.Func, bool) { f, ok := r.funcs[name]; return f, ok }

// Actor implements node.Registry.
func (r *Registry) Actor(name string) (*node.ActorType, bool) { a, ok := r.actors[name]; return a, ok }

// Digest implements node.Registry: a hash of every name and signature.
func (r *Registry) Digest() uint64 {
	names := make([]string, 0, len(r.sigs))
	for n := range r.sigs {
		names = append(names, n)
	}
	slices.Sort(names)
	h := fnv.New64a()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s;", n, r.sigs[n])
	}
	return h.Sum64()
}

// Signatures lists "name=signature" for every entry, sorted (for error
// messages naming a mismatch).
func (r *Registry) Signatures() []string {
	out := make([]string, 0, len(r.sigs))
	for n, s := range r.sigs {
		out = append(out, n+"="+s)
	}
	slices.Sort(out)
	return out
}

func (r *Registry) add(name string, sig any) {
	if _, dup := r.sigs[name]; dup {
		panic(fmt.Sprintf("ray: %q registered twice", name)) // programmer error, at init
	}
	r.sigs[name] = reflect.TypeOf(sig).String()
}

// Func is a registered remote function returning R.
type Func[R any] struct {
	name string
	opts options
}

// Name is the registered name.
func (f *Func[R]) Name() string { return f.name }

// Options returns a copy of f with options applied (like Ray's .options()).
func (f *Func[R]) Options(o ...Option) *Func[R] {
	g := *f
	g.opts = f.opts.with(o)
	return &g
}

// Remote submits the function with args (plain values, or Refs which the
// task receives resolved) and returns a reference to its result.
func (f *Func[R]) Remote(ctx context.Context, args ...any) Ref[R] {
	c, ok := node.CallerFrom(ctx)
	if !ok {
		return Ref[R]{err: ErrNotInRay}
	}
	spec := &transport.TaskSpec{Func: f.name, NumReturns: 1}
	if err := f.opts.apply(spec, c.CaptureGroup()); err != nil {
		return Ref[R]{err: err}
	}
	if err := encodeArgs(spec, args); err != nil {
		return Ref[R]{err: fmt.Errorf("ray: %s: %w", f.name, err)}
	}
	id := c.Submit(spec)
	return Ref[R]{id: transport.ObjectID{Task: id}}
}

// RegisterRaw registers a function in wire form (encoded values in and out):
// the fastest path, used by the workload generators.
func RegisterRaw[R any](r *Registry, name string, fn node.Func) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = fn
	return &Func[R]{name: name, opts: defaultOptions()}
}

// Register0 registers a remote function without arguments.
func Register0[R any](r *Registry, name string, fn func(context.Context) (R, error)) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 0); err != nil {
			return transport.Value{}, err
		}
		return result(fn(ctx))
	}
	return &Func[R]{name: name, opts: defaultOptions()}
}

// Register1 registers a remote function of one argument.
func Register1[A, R any](r *Registry, name string, fn func(context.Context, A) (R, error)) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 1); err != nil {
			return transport.Value{}, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return transport.Value{}, fmt.Errorf("%s: argument 1: %w", name, err)
		}
		return result(fn(ctx, a))
	}
	return &Func[R]{name: name, opts: defaultOptions()}
}

// Register2 registers a remote function of two arguments.
func Register2[A, B, R any](r *Registry, name string, fn func(context.Context, A, B) (R, error)) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 2); err != nil {
			return transport.Value{}, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return transport.Value{}, fmt.Errorf("%s: argument 1: %w", name, err)
		}
		b, err := Decode[B](args[1])
		if err != nil {
			return transport.Value{}, fmt.Errorf("%s: argument 2: %w", name, err)
		}
		return result(fn(ctx, a, b))
	}
	return &Func[R]{name: name, opts: defaultOptions()}
}

// RegisterN registers a remote function taking any number of arguments of
// one type (a reduce over refs, say).
func RegisterN[A, R any](r *Registry, name string, fn func(context.Context, []A) (R, error)) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		as := make([]A, len(args))
		for i, v := range args {
			a, err := Decode[A](v)
			if err != nil {
				return transport.Value{}, fmt.Errorf("%s: argument %d: %w", name, i+1, err)
			}
			as[i] = a
		}
		return result(fn(ctx, as))
	}
	return &Func[R]{name: name, opts: defaultOptions()}
}

func arity(name string, args []transport.Value, n int) error {
	if len(args) != n {
		return fmt.Errorf("%s: called with %d arguments, takes %d", name, len(args), n)
	}
	return nil
}

func result[R any](v R, err error) (transport.Value, error) {
	if err != nil {
		return transport.Value{}, err
	}
	return Encode(v)
}

// objectRef is what every Ref[T] is, whatever T: a handle on an object.
type objectRef interface {
	ObjectID() transport.ObjectID
	refErr() error
}

func encodeArgs(spec *transport.TaskSpec, args []any) error {
	spec.Args = make([]transport.Arg, len(args))
	for i, a := range args {
		if r, ok := a.(objectRef); ok {
			if err := r.refErr(); err != nil {
				return fmt.Errorf("argument %d: %w", i+1, err)
			}
			spec.Args[i] = transport.Arg{IsRef: true, Ref: r.ObjectID()}
			continue
		}
		v, err := Encode(a)
		if err != nil {
			return fmt.Errorf("argument %d: %w", i+1, err)
		}
		spec.Args[i] = transport.Arg{Value: v}
	}
	return nil
}
