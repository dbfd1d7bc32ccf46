package ray

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Registry is the function table: remote functions and actor classes by
// name. Every process of a cluster registers the same set (they run the same
// binary); a node whose set differs is refused by the GCS. The Register
// functions (and Method0, Method1) panic when a name (function, actor class
// or method) is registered twice, is empty, or comes with a nil function or
// constructor, and when the registry (or class) is nil: programming errors,
// found at init rather than at every call.
type Registry struct {
	funcs  map[string]node.Func
	multi  map[string]node.MultiFunc // functions of several returns (multi.go)
	actors map[string]*node.ActorType
	sigs   map[string]string
	errs   []userError // RegisterError's, in the order registered
	// digest caches Digest (0: not computed since the last add): every
	// node of a cluster registers with it, and hashing the sorted table
	// per node was a sixth of a 40,000-node start-up's CPU. Atomic, as the
	// raylets of a live cluster in one process ask at once.
	digest atomic.Uint64
}

// userError is an error registered by name: a sentinel value
// (RegisterError, err), or a type (RegisterErrorType: typ, with encode
// and decode, which carry a value of it across the cluster).
type userError struct {
	name string
	err  error
	typ  reflect.Type
	// encode finds a value of typ in an error's chain (errors.As) and
	// encodes it (JSON); decode rebuilds it.
	encode func(error) ([]byte, bool)
	decode func([]byte) (error, bool)
}

// RegisterError names a sentinel error of your program so that it crosses
// the cluster as the runtime's own do: a task or method whose error wraps
// it (errors.Is) fails with a *TaskError that wraps it too, so a reader's
// errors.Is(err, yourErr) holds after Get, through any number of hops (a
// task that returns, wrapped, the error a Get gave it passes it on) — as
// Ray keeps a user exception's type across tasks. An actor constructor's
// error is not covered: its calls fail with ErrActorDied, whose text
// carries the constructor's (as Ray keeps a creation task's exception
// as text). The error's identity
// travels by name, its text as the error's message; for errors.As on
// your own error types, with their fields, register the type
// (RegisterErrorType). Every
// process registers the same errors (they run the same binary; the name
// is part of the registry's digest). It panics as the Register functions
// do, and on a nil error or a name the wire refuses
// (transport.CheckErrorName: empty, with a NUL byte, or longer than
// transport.MaxErrorName bytes) — a task's RetryExceptions carries the
// name in its spec, and a spec the receiving node cannot decode would
// never run on TCP.
func RegisterError(r *Registry, name string, err error) {
	if err == nil {
		panic(fmt.Sprintf("ray: registering error %q as nil", name))
	}
	if cerr := transport.CheckErrorName(name); cerr != nil {
		panic(fmt.Sprintf("ray: registering error %.64q: %v (a name is 1 to %d bytes, no NUL or \\x01 byte)", name, cerr, transport.MaxErrorName))
	}
	r.add("error:"+name, err)
	r.errs = append(r.errs, userError{name: name, err: err})
}

// RegisterErrorType names an error type of your program, E, so that its
// values cross the cluster with their fields, as Ray gives a reader the
// user's exception of its own class and arguments: a task or method
// whose error has an E in its chain (errors.As) fails with a *TaskError
// that wraps an E decoded from it, so a reader's errors.As(err, &e)
// gets the value the code returned, fields and all, through any number
// of hops (a task that returns, wrapped, the error a Get gave it passes
// it on). The value travels as JSON: E's exported fields (and what its
// MarshalJSON and UnmarshalJSON make of it) are what arrive, as for a
// task's results; a value that does not encode travels as text only. E
// may be a struct type or a pointer to one (errors.As matches the type
// the code returns: register *E for code returning &E{...}). errors.Is
// on such a value holds where E's == (or its Is method) says. Use
// RegisterError for sentinels, which travel by name alone. Every process
// registers the same types (the name and E are part of the registry's
// digest). RetryExceptions takes a value of E (any value: its type
// selects it) to retry the failures that carry an E. It panics as
// RegisterError does, and when E is an interface type.
func RegisterErrorType[E error](r *Registry, name string) {
	typ := reflect.TypeFor[E]()
	if typ.Kind() == reflect.Interface {
		panic(fmt.Sprintf("ray: registering error type %q as the interface %v (register a concrete type)", name, typ))
	}
	if cerr := transport.CheckErrorName(name); cerr != nil {
		panic(fmt.Sprintf("ray: registering error %.64q: %v (a name is 1 to %d bytes, no NUL or \\x01 byte)", name, cerr, transport.MaxErrorName))
	}
	var zero E
	r.add("error:"+name, errorTypeSig[E]{zero})
	r.errs = append(r.errs, userError{name: name, typ: typ,
		encode: func(err error) ([]byte, bool) {
			var e E
			if !errors.As(err, &e) {
				return nil, false
			}
			b, jerr := json.Marshal(e)
			return b, jerr == nil
		},
		decode: func(b []byte) (error, bool) {
			var e E
			if json.Unmarshal(b, &e) != nil {
				return nil, false
			}
			if v := reflect.ValueOf(&e).Elem(); v.Kind() == reflect.Pointer && v.IsNil() {
				return nil, false // "null": no value to hand out
			}
			return e, true
		}})
}

// errorTypeSig is what RegisterErrorType enters in the registry for E,
// so that the digest names the type (and tells it from a sentinel's).
type errorTypeSig[E error] struct{ zero E }

// userErrors is the registered errors (none for a nil registry).
func (r *Registry) userErrors() []userError {
	if r == nil {
		return nil
	}
	return r.errs
}

// userError is the error registered as name: its sentinel, or for a
// type (RegisterErrorType) the value payload decodes to.
func (r *Registry) userError(name string, payload []byte) (error, bool) {
	for _, u := range r.userErrors() {
		if u.name != name {
			continue
		}
		if u.decode != nil {
			return u.decode(payload)
		}
		return u.err, true
	}
	return nil, false
}

// errorName is the name err is registered under (RegisterError): the
// first registration of that very error value. Values are compared as
// errors.Is compares them: only when err's dynamic type is comparable (==
// on two interfaces holding, say, a struct with a slice field panics), so
// an error of an uncomparable type is never "that very value" and is
// reported not registered. A value of a type registered with
// RegisterErrorType is its type's name, whatever the value.
func (r *Registry) errorName(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	typ := reflect.TypeOf(err)
	for _, u := range r.userErrors() {
		if u.typ != nil && u.typ == typ { // a registered type: any value of it
			return u.name, true
		}
		if u.err != nil && typ.Comparable() && u.err == err {
			return u.name, true
		}
	}
	return "", false
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{funcs: map[string]node.Func{}, multi: map[string]node.MultiFunc{}, actors: map[string]*node.ActorType{}, sigs: map[string]string{}}
}

// Func implements node.Registry. Every registry serves the task of
// PlacementGroup.Ready too, without registering it (Digest and
// Signatures leave it out).
func (r *Registry) Func(name string) (node.Func, bool) {
	if f, ok := r.funcs[name]; ok {
		return f, true
	}
	if name == readyFuncName {
		return readyFunc, true
	}
	return nil, false
}

// Actor implements node.Registry.
func (r *Registry) Actor(name string) (*node.ActorType, bool) { a, ok := r.actors[name]; return a, ok }

// Digest implements node.Registry: a hash of every name and signature.
func (r *Registry) Digest() uint64 {
	if d := r.digest.Load(); d != 0 {
		return d
	}
	d := r.hash()
	r.digest.Store(d)
	return d
}

// hash is Digest computed.
func (r *Registry) hash() uint64 {
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

// add records name's signature; it panics on a programming error (see
// Registry): what registers a remote function, an actor class or a method
// is code that runs at init, not input to handle.
func (r *Registry) add(name string, sig any) {
	if r == nil {
		panic(fmt.Sprintf("ray: registering %q in a nil *Registry (make one with NewRegistry)", name))
	}
	if name == "" {
		panic(fmt.Sprintf("ray: registering a %T with an empty name", sig))
	}
	if v := reflect.ValueOf(sig); !v.IsValid() || v.Kind() == reflect.Func && v.IsNil() {
		panic(fmt.Sprintf("ray: registering %q with a nil function", name))
	}
	if _, dup := r.sigs[name]; dup {
		panic(fmt.Sprintf("ray: %q registered twice", name)) // programmer error, at init
	}
	r.sigs[name] = reflect.TypeOf(sig).String()
	r.digest.Store(0)
}

// ErrBadArgs: a Remote or New given arguments its function, method or
// constructor cannot take (their number, or a type that does not convert
// to the parameter's): the ref's (or handle's) Err, and Get's error. It is
// checked at submission for Register0/1/2, RegisterActor0/1 and
// Method0/1, not for RegisterN and RegisterRaw (whose arguments are
// checked as the task decodes them).
var ErrBadArgs = errors.New("ray: bad arguments")

// params is a registered function's (method's, constructor's) parameter
// list, which Remote and New check the arguments against.
type params struct {
	name  string // as users know it: "add", "Counter.incr"
	types []reflect.Type
}

// paramsOf builds the parameter list of name from its types.
func paramsOf(name string, types ...reflect.Type) *params {
	return &params{name: name, types: types}
}

// list is the parameter types as Go writes them: "(int, time.Duration)".
func (p *params) list() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, t := range p.types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.String())
	}
	b.WriteByte(')')
	return b.String()
}

// arity refuses a wrong number of arguments.
func (p *params) arity(n int) error {
	if n == len(p.types) {
		return nil
	}
	switch len(p.types) {
	case 0:
		return fmt.Errorf("%w: %s takes no arguments, got %d", ErrBadArgs, p.name, n)
	case 1:
		return fmt.Errorf("%w: %s takes 1 argument %s, got %d", ErrBadArgs, p.name, p.list(), n)
	}
	return fmt.Errorf("%w: %s takes %d arguments %s, got %d", ErrBadArgs, p.name, len(p.types), p.list(), n)
}

// argClass sorts the kinds that encode as one wire form (numbers, strings,
// booleans): two types of different classes never decode into each other.
func argClass(k reflect.Kind) int {
	switch {
	case k >= reflect.Int && k <= reflect.Float64:
		return 1
	case k == reflect.String:
		return 2
	case k == reflect.Bool:
		return 3
	case k == reflect.Complex64 || k == reflect.Complex128:
		return 4
	}
	return 0
}

// convert makes argument i, whose type is not the parameter's, fit it as
// Go's untyped constants would: a number converts to another numeric
// parameter type when its value survives the conversion (5 for a
// time.Duration or a float64, not 1.5 for an int nor -1 for a uint), a
// string or bool to a named string or bool type. A nil fits a pointer,
// slice, map or interface. Other mismatches of numbers, strings and
// booleans are refused (ErrBadArgs: they could never decode); composite
// types (structs, slices, maps) are left to the task's decoding, which
// accepts a compatible JSON shape. Called only on a mismatch: an argument
// of the parameter's type costs one type comparison.
func (p *params) convert(i int, a any) (any, error) {
	pt := p.types[i]
	bad := func(got string) error {
		return fmt.Errorf("%w: argument %d of %s: got %s, want %s", ErrBadArgs, i+1, p.name, got, pt)
	}
	if a == nil {
		switch pt.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			return nil, nil
		}
		return nil, bad("nil")
	}
	at := reflect.TypeOf(a)
	if pt.Kind() == reflect.Interface {
		if at.Implements(pt) {
			return a, nil
		}
		return nil, bad(at.String())
	}
	ac, pc := argClass(at.Kind()), argClass(pt.Kind())
	switch {
	case ac == 0 && pc == 0:
		return a, nil // composite: the task's decoding decides
	case ac != pc:
		return nil, bad(at.String())
	}
	v := reflect.ValueOf(a)
	c := v.Convert(pt)
	if ac == 1 && !lossless(v, c) {
		return nil, fmt.Errorf("%w: argument %d of %s: %v (%s) does not convert to %s without loss", ErrBadArgs, i+1, p.name, a, at, pt)
	}
	return c.Interface(), nil
}

// lossless reports whether the numeric conversion of v to c kept its value:
// converting back gives v, and the sign survived (-1 to a uint and back
// would). A float converts to a float type always (as an untyped constant
// rounds to a float32).
func lossless(v, c reflect.Value) bool {
	isFloat := func(k reflect.Kind) bool { return k == reflect.Float32 || k == reflect.Float64 }
	if isFloat(v.Kind()) && isFloat(c.Kind()) {
		return true
	}
	if !c.Convert(v.Type()).Equal(v) {
		return false
	}
	return sign(v) == sign(c)
}

// sign is -1, 0 or 1 for a numeric value.
func sign(v reflect.Value) int {
	switch k := v.Kind(); {
	case k >= reflect.Int && k <= reflect.Int64:
		return cmp.Compare(v.Int(), 0)
	case k >= reflect.Uint && k <= reflect.Uintptr:
		return cmp.Compare(v.Uint(), 0)
	}
	return cmp.Compare(v.Float(), 0)
}

// wireInt reports whether t is one of the types Encode writes as a
// varint (int, int64, uint64), which decode into each other.
func wireInt(t reflect.Type) bool {
	return t == reflect.TypeFor[int]() || t == reflect.TypeFor[int64]() || t == reflect.TypeFor[uint64]()
}

// checkRef refuses a Ref argument whose element type can never decode
// into parameter i (a Ref[string] for an int, a Ref[int] for a float64: a
// stored object is not converted); a Ref of the parameter's type, to or
// from an interface type, of a composite type, or of int, int64 or uint64
// for another of them (one wire form) passes.
func (p *params) checkRef(i int, et reflect.Type) error {
	pt := p.types[i]
	if et == pt || et.Kind() == reflect.Interface || pt.Kind() == reflect.Interface {
		return nil
	}
	if argClass(et.Kind()) == 0 && argClass(pt.Kind()) == 0 || wireInt(et) && wireInt(pt) {
		return nil
	}
	return fmt.Errorf("%w: argument %d of %s: got a Ref of %s, want %s (or a Ref of it)", ErrBadArgs, i+1, p.name, et, pt)
}

// Func is a registered remote function returning R.
type Func[R any] struct {
	name string
	opts options
	sig  *params // nil: not checked at Remote (RegisterN, RegisterRaw)
}

// Name is the registered name ("" for a nil *Func).
func (f *Func[R]) Name() string {
	if f == nil {
		return ""
	}
	return f.name
}

// Options returns a copy of f with options applied (like Ray's .options()).
// On a nil *Func it returns nil, whose Remote reports the mistake.
func (f *Func[R]) Options(o ...Option) *Func[R] {
	if f == nil {
		return nil
	}
	g := *f
	g.opts = f.opts.with(o)
	return &g
}

// Remote submits the function with args (plain values, or Refs which the
// task receives resolved) and returns a reference to its result. For a
// function of Register0, Register1 or Register2 the arguments are checked
// here (ErrBadArgs on the ref): their number, and their types, where an
// argument of another numeric type converts as an untyped constant would
// (5 for a float64 or a time.Duration parameter), a value that does not
// survive the conversion or of another kind (a string for an int) is
// refused, and a Ref must be of the parameter's type (a stored object is
// not converted; a Ref of a composite type is left to the task's
// decoding). Options the task has no use for
// (ActorName, MaxRestarts...) are refused (ErrInvalidOption), as is a nil
// *Func (ErrUnknownFunction).
func (f *Func[R]) Remote(ctx context.Context, args ...any) Ref[R] {
	if f == nil {
		return Ref[R]{err: fmt.Errorf("%w: Remote on a nil *Func (not registered)", ErrUnknownFunction)}
	}
	c, cerr := caller(ctx)
	if cerr != nil {
		return Ref[R]{err: cerr}
	}
	spec := &transport.TaskSpec{Func: f.name, NumReturns: 1}
	if err := f.opts.apply(spec, c.CaptureGroup(), registryOf(ctx)); err != nil {
		return Ref[R]{err: err}
	}
	if err := encodeArgs(spec, f.name, f.sig, args); err != nil {
		return Ref[R]{err: err}
	}
	id := c.Submit(spec)
	return Ref[R]{id: transport.ObjectID{Task: id}}
}

// RegisterRaw registers a function in wire form (encoded values in and out):
// the fastest path, used by the workload generators.
func RegisterRaw[R any](r *Registry, name string, fn node.Func) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = withCauses(fn)
	return &Func[R]{name: name, opts: defaultOptions()}
}

// Register0 registers a remote function without arguments.
func Register0[R any](r *Registry, name string, fn func(context.Context) (R, error)) *Func[R] {
	r.add(name, fn)
	r.funcs[name] = func(ctx context.Context, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 0); err != nil {
			return transport.Value{}, err
		}
		out, ferr := fn(ctx)
		return result(ctx, out, ferr)
	}
	return &Func[R]{name: name, opts: defaultOptions(), sig: paramsOf(name)}
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
			return argError(name, 1, err)
		}
		out, ferr := fn(ctx, a)
		return result(ctx, out, ferr)
	}
	return &Func[R]{name: name, opts: defaultOptions(), sig: paramsOf(name, reflect.TypeFor[A]())}
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
			return argError(name, 1, err)
		}
		b, err := Decode[B](args[1])
		if err != nil {
			return argError(name, 2, err)
		}
		out, ferr := fn(ctx, a, b)
		return result(ctx, out, ferr)
	}
	return &Func[R]{name: name, opts: defaultOptions(), sig: paramsOf(name, reflect.TypeFor[A](), reflect.TypeFor[B]())}
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
				return argError(name, i+1, err)
			}
			as[i] = a
		}
		out, ferr := fn(ctx, as)
		return result(ctx, out, ferr)
	}
	return &Func[R]{name: name, opts: defaultOptions()}
}

// argError is the result of a task or method whose argument i does not
// decode (its code does not run): an error value of kind ErrKindDecode,
// which Get reads as ErrDecode, and which RetryExceptions does not retry
// (it would fail alike).
func argError(name string, i int, err error) (transport.Value, error) {
	return transport.Value{ErrKind: transport.ErrKindDecode, Data: []byte(fmt.Sprintf("%s: argument %d: %v", name, i, err))}, nil
}

func arity(name string, args []transport.Value, n int) error {
	if len(args) != n {
		return fmt.Errorf("%s: called with %d arguments, takes %d", name, len(args), n)
	}
	return nil
}

// result is a function's or method's result as the raylet takes it: an
// error wrapping the runtime's sentinels as an error value carrying them
// (failedValue), another error as it is.
func result[R any](ctx context.Context, v R, err error) (transport.Value, error) {
	if err != nil {
		if ev, ok := failedValue(ctx, err); ok {
			return ev, nil
		}
		return transport.Value{}, err
	}
	return Encode(v)
}

// elemType is T, which Remote checks against the parameter a Ref is
// given for.
func (r Ref[T]) elemType() reflect.Type { return reflect.TypeFor[T]() }

// encodeArgs writes args into spec, checked against sig (nil: unchecked)
// first; name names the function in errors.
func encodeArgs(spec *transport.TaskSpec, name string, sig *params, args []any) error {
	if sig != nil {
		if err := sig.arity(len(args)); err != nil {
			return err
		}
	}
	spec.Args = make([]transport.Arg, len(args))
	for i, a := range args {
		if r, ok := a.(ObjectRef); ok {
			if err := r.refErr(); err != nil {
				return fmt.Errorf("ray: %s: argument %d: %w", name, i+1, err)
			}
			if sig != nil {
				if err := sig.checkRef(i, r.elemType()); err != nil {
					return err
				}
			}
			spec.Args[i] = transport.Arg{IsRef: true, Ref: r.ObjectID()}
			continue
		}
		if _, ok := a.(interface{ isStream() }); ok {
			return fmt.Errorf("ray: %s: argument %d: %w", name, i+1, errStreamTravel)
		}
		if sig != nil && reflect.TypeOf(a) != sig.types[i] {
			var err error
			if a, err = sig.convert(i, a); err != nil {
				return err
			}
		}
		v, err := Encode(a)
		if err != nil {
			return fmt.Errorf("ray: %s: argument %d: %w", name, i+1, err)
		}
		spec.Args[i] = transport.Arg{Value: v}
	}
	return nil
}
