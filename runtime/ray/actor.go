package ray

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Checkpointer is implemented by actor instances whose state should survive
// a restart (see CheckpointEvery): Checkpoint returns the state as bytes,
// Restore puts it back into a freshly constructed instance.
type Checkpointer = node.Checkpointer

// ActorClass is a registered actor type whose instances are *S.
type ActorClass[S any] struct {
	reg  *Registry
	name string
	typ  *node.ActorType
	opts options
	sig  *params // the constructor's parameters, checked at New
}

// ActorHandle refers to a live (or dead) actor of class S.
type ActorHandle[S any] struct {
	id   transport.ActorID
	name string // its name, when created with one or found by it (Kill frees it)
	err  error
	// retries is the actor's max_task_retries (MaxRetries given to its
	// creation): its method calls' retry budget where the method handle
	// or the call sets none; retriesSet says one was given.
	retries    int32
	retriesSet bool
	// pending is the actor's max_pending_calls (MaxPendingCalls on its
	// creation; 0: no bound).
	pending int32
	// byID: the handle was rebuilt from the actor's ID (ActorHandleOf)
	// and knows not the actor's call defaults (retries, pending): its
	// calls ask for them (node.Caller.ActorCalls).
	byID bool
}

// target is what a method call needs of the handle it is made on.
func (h ActorHandle[S]) target() callTarget {
	return callTarget{id: h.id, err: h.err, retries: h.retries, retriesSet: h.retriesSet, pending: h.pending, byID: h.byID}
}

// callTarget is an actor handle without its class: the actor, the
// handle's error, the actor-wide retry budget of its calls and its bound
// on pending calls, or that it must ask for them (byID).
type callTarget struct {
	id         transport.ActorID
	err        error
	retries    int32
	retriesSet bool
	pending    int32
	byID       bool
}

// ID is the actor's ID (the ID of its creation task).
func (h ActorHandle[S]) ID() transport.ActorID { return h.id }

type handleJSON struct {
	Actor uint64 `json:"actor"`
	Name  string `json:"name,omitempty"`
	// Retries: the actor's max_task_retries, when its creation set one
	// (a handle passed to a task keeps it, as Ray's does).
	Retries *int32 `json:"max_task_retries,omitempty"`
	// Pending: the actor's max_pending_calls, when its creation set one.
	Pending int32 `json:"max_pending_calls,omitempty"`
	// ByID: a handle rebuilt from the actor's ID (ActorHandleOf), which
	// learns the actor's call defaults at its first call, wherever it is.
	ByID bool `json:"by_id,omitempty"`
}

// MarshalJSON lets a handle travel inside values (a task's argument or
// result, as Ray passes actor handles): the actor's ID, name and
// max_task_retries (MaxRetries on its creation). A handle
// whose creation or lookup failed does not travel: its error is returned.
func (h ActorHandle[S]) MarshalJSON() ([]byte, error) {
	if h.err != nil {
		return nil, h.err
	}
	j := handleJSON{Actor: uint64(h.id), Name: h.name, Pending: h.pending, ByID: h.byID}
	if h.retriesSet {
		j.Retries = &h.retries
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a handle written by MarshalJSON.
func (h *ActorHandle[S]) UnmarshalJSON(b []byte) error {
	var j handleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Name != "" {
		// Kill sends the name on: one the wire refuses would never arrive.
		if err := transport.CheckActorName(j.Name); err != nil {
			return fmt.Errorf("%w: a handle's actor name: %w", ErrInvalidOption, err)
		}
	}
	*h = ActorHandle[S]{id: transport.ActorID(j.Actor), name: j.Name, byID: j.ByID}
	if j.Retries != nil {
		if err := checkBudget("max_task_retries", int(*j.Retries)); err != nil {
			return err
		}
		h.retries, h.retriesSet = *j.Retries, true
	}
	if j.Pending < 0 {
		return fmt.Errorf("%w: a handle's max_pending_calls of %d", ErrInvalidOption, j.Pending)
	}
	h.pending = j.Pending
	return nil
}

// Err reports a failure to create or find the actor.
func (h ActorHandle[S]) Err() error { return h.err }

func registerActor[S any](r *Registry, name string, sig any, ps *params, ctor func(ctx context.Context, args []transport.Value) (any, error)) *ActorClass[S] {
	r.add(name, sig)
	typ := &node.ActorType{New: ctor, Methods: map[string]node.Method{}}
	r.actors[name] = typ
	o := defaultOptions()
	o.CPU = 0 // an actor holds no CPU unless asked; with no resource option it needs 1 free to be placed (see CPUs)
	o.MaxRetries = 0
	return &ActorClass[S]{reg: r, name: name, typ: typ, opts: o, sig: ps}
}

// instance hands a constructor's result to the raylet: a nil *S as a nil
// interface, so the raylet's check for a constructor that returned no
// instance sees it (a typed nil is not nil as an any).
func instance[S any](s *S, err error) (any, error) {
	if s == nil {
		return nil, err
	}
	return s, err
}

// RegisterActor0 registers an actor class with a constructor of no argument.
func RegisterActor0[S any](r *Registry, name string, ctor func(context.Context) (*S, error)) *ActorClass[S] {
	return registerActor[S](r, name, ctor, paramsOf(name), func(ctx context.Context, args []transport.Value) (any, error) {
		if err := arity(name, args, 0); err != nil {
			return nil, err
		}
		return instance(ctor(ctx))
	})
}

// RegisterActor1 registers an actor class whose constructor takes one argument.
func RegisterActor1[A, S any](r *Registry, name string, ctor func(context.Context, A) (*S, error)) *ActorClass[S] {
	return registerActor[S](r, name, ctor, paramsOf(name, reflect.TypeFor[A]()), func(ctx context.Context, args []transport.Value) (any, error) {
		if err := arity(name, args, 1); err != nil {
			return nil, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return nil, fmt.Errorf("%s: argument 1: %w", name, err)
		}
		return instance(ctor(ctx, a))
	})
}

// Options returns a copy of the class with actor options applied (resources,
// ActorName, MaxRestarts...). On a nil class it returns nil, whose New
// reports the mistake.
func (c *ActorClass[S]) Options(o ...Option) *ActorClass[S] {
	if c == nil {
		return nil
	}
	d := *c
	d.opts = c.opts.with(o)
	return &d
}

// New creates an actor: its constructor runs as a task placed like any other,
// then the actor lives on that node, running its methods one at a time (up
// to n at once with MaxConcurrency(n); per group, each group's limit, with
// ConcurrencyGroups). It dies with its owner, the node
// incarnation of the driver or task that called New, unless Detached.
// With ActorName, New first asks the GCS whether a live actor holds the name
// (as Ray's creation of a named actor does): if one does, the handle's Err
// is ErrActorNameTaken and nothing is created. Two creators racing past
// that check are settled by the name's shard: the first to reach it keeps
// the name, and the other actor is ended (its calls fail with ErrActorDied).
// The constructor's arguments are checked here as Func.Remote checks a
// function's (ErrBadArgs on the handle). Options an actor has no use for
// (RetryExceptions), and CheckpointEvery for a class whose instances do not
// implement Checkpointer, are refused (ErrInvalidOption), as is a nil
// class (ErrUnknownFunction).
func (c *ActorClass[S]) New(ctx context.Context, args ...any) ActorHandle[S] {
	if c == nil {
		return ActorHandle[S]{err: fmt.Errorf("%w: New on a nil *ActorClass (not registered)", ErrUnknownFunction)}
	}
	cl, cerr := caller(ctx)
	if cerr != nil {
		return ActorHandle[S]{err: cerr}
	}
	if c.opts.Checkpoint != 0 {
		if _, ok := any((*S)(nil)).(Checkpointer); !ok {
			return ActorHandle[S]{err: fmt.Errorf("%w: CheckpointEvery: %s's instances (%T) do not implement Checkpointer", ErrInvalidOption, c.name, (*S)(nil))}
		}
	}
	spec := &transport.TaskSpec{Func: c.name, Act: &transport.ActorSpec{Creation: true}}
	if err := c.opts.apply(spec, cl.CaptureGroup(), c.reg); err != nil {
		return ActorHandle[S]{err: err}
	}
	if err := encodeArgs(spec, c.name, c.sig, args); err != nil {
		return ActorHandle[S]{err: err}
	}
	if err := c.qualify(cl, spec); err != nil {
		return ActorHandle[S]{err: err}
	}
	if c.opts.GetIfExists {
		if spec.A().Name == "" {
			return ActorHandle[S]{err: fmt.Errorf("%w: GetIfExists: %s: an actor without ActorName (the name is what finds the actor)", ErrInvalidOption, c.name)}
		}
		return c.newOrGet(ctx, cl, spec)
	}
	if q := spec.A().Name; q != "" {
		found, taken, err := cl.LookupActor(ctx, q)
		if err != nil {
			return ActorHandle[S]{err: fmt.Errorf("ray: %s: name %s: %w", c.name, nameText(cl, q), err)}
		}
		// A holder this very creation would be (a retry or rebuild of
		// the task that created it: IDs derive from the task) is not a
		// clash: the creation joins it, as an unnamed one's does.
		if holder, class := found.ID, found.Class; taken && holder != transport.ActorID(cl.NextID()) {
			if class != "" && class != c.name { // say so: a name clash across classes reads as a typo
				return ActorHandle[S]{err: fmt.Errorf("%w: %s (actor %s, a %q, not a %q)", ErrActorNameTaken, nameText(cl, q), holder, class, c.name)}
			}
			return ActorHandle[S]{err: fmt.Errorf("%w: %s (actor %s)", ErrActorNameTaken, nameText(cl, q), holder)}
		}
	}
	h := c.created(spec)
	h.id = cl.Submit(spec)
	return h
}

// qualify checks the name a creation's spec got from ActorName and
// registers it in its namespace (transport.QualifiedName): the one
// ActorNamespace gives, else the creator's (cl.Namespace). The spec is
// New's own: nothing shares its Act yet.
func (c *ActorClass[S]) qualify(cl *node.Caller, spec *transport.TaskSpec) error {
	name := spec.A().Name
	if name == "" {
		if c.opts.set&optNamespace != 0 {
			return fmt.Errorf("%w: ActorNamespace(%q): %s: an actor without ActorName (the namespace is its name's)", ErrInvalidOption, c.opts.Namespace, c.name)
		}
		return nil
	}
	ns := cl.Namespace()
	if c.opts.set&optNamespace != 0 {
		if err := transport.CheckNamespace(c.opts.Namespace); err != nil {
			return fmt.Errorf("%w: ActorNamespace: %s: %w", ErrInvalidOption, c.name, err)
		}
		ns = c.opts.Namespace
	}
	q := transport.QualifiedName(ns, name)
	if err := transport.CheckActorName(q); err != nil {
		return fmt.Errorf("%w: ActorName: %s: %w", ErrInvalidOption, c.name, err)
	}
	spec.Act.Name = q
	return nil
}

// nameText says a qualified actor name in an error of cl's: the name,
// and its namespace when it is not cl's own.
func nameText(cl *node.Caller, q string) string {
	ns, name := transport.SplitActorName(q)
	if ns == cl.Namespace() {
		return strconv.Quote(name)
	}
	return transport.ActorNameText(q)
}

// notFoundText says where a name lookup (GetActor, GetPlacementGroup)
// of the qualified name q searched: always its namespace, and when that
// is cl's own, that another must be asked for — the usual reason a name
// made by another driver is not found is the anonymous namespace of a
// job that set none (Ray's too).
func notFoundText(cl *node.Caller, q string) string {
	ns, name := transport.SplitActorName(q)
	if ns != cl.Namespace() {
		return transport.ActorNameText(q)
	}
	whose := "this caller's namespace"
	if strings.HasPrefix(ns, "anonymous-") {
		whose = "this job's own anonymous namespace"
	}
	return fmt.Sprintf("%q in namespace %q (%s; SetNamespace, or InNamespace, to look in another)", name, ns, whose)
}

// created is the handle of an actor New creates with spec, before its
// submission gives it its ID. Ray's max_task_retries (MaxRetries on the
// creation), the default budget of the actor's method calls, travels in
// the spec's call defaults (ActorSpec.Calls; a restart does not change
// it): the constructor's own budget is MaxRestarts, so the spec's
// MaxRetries goes unused for a creation, and is left at 0.
func (c *ActorClass[S]) created(spec *transport.TaskSpec) ActorHandle[S] {
	spec.MaxRetries = 0
	return handleOf[S](spec.ID, spec.A().Name, spec.A().Calls())
}

// handleOf is the handle of actor id, named name ("": none), whose
// creation set the call defaults calls: the creator's (created) and any
// found by the name (GetActor, GetIfExists) call alike.
func handleOf[S any](id transport.ActorID, name string, calls transport.CallDefaults) ActorHandle[S] {
	return ActorHandle[S]{id: id, name: name, retries: calls.Retries, retriesSet: calls.RetriesSet, pending: int32(calls.Pending)}
}

// maxNameClaims bounds newOrGet's rounds: each ends with a live holder
// found, or a claim won, unless the name keeps changing hands (a holder
// that dies as it is found, again and again).
const maxNameClaims = 8

// newOrGet is New with GetIfExists: it returns the live actor holding
// the spec's name, or creates it under the name. A claim of the name
// (node.Caller.ClaimActorName) goes to the name's shard ahead of the
// creation, which is submitted only when the claim won: of creators
// racing for a free name, one creates the actor and the others find it.
func (c *ActorClass[S]) newOrGet(ctx context.Context, cl *node.Caller, spec *transport.TaskSpec) ActorHandle[S] {
	name := spec.A().Name // qualified (qualify)
	found := func(holder node.NamedActor) ActorHandle[S] {
		if holder.Class != "" && holder.Class != c.name {
			return ActorHandle[S]{err: &ActorClassError{Name: transport.ActorNameOf(name), Want: c.name, Have: holder.Class}}
		}
		return handleOf[S](holder.ID, name, holder.Calls)
	}
	fail := func(err error) ActorHandle[S] {
		return ActorHandle[S]{err: fmt.Errorf("ray: %s: name %s: %w", c.name, nameText(cl, name), err)}
	}
	for range maxNameClaims {
		holder, ok, err := cl.LookupActor(ctx, name)
		if err != nil {
			return fail(err)
		}
		// A holder this very creation would be (a re-run of the task
		// that created it) is claimed again, and joined.
		if ok && holder.ID != transport.ActorID(cl.NextID()) {
			return found(holder)
		}
		id := cl.Reserve()
		holder, ok, err = cl.ClaimActorName(ctx, id, name, c.name, spec.A().Detached, spec.A().Calls())
		if err == nil && !(ok && holder.ID == id) {
			// The answer may be older than the claim (a lookup of the
			// name was on its way): ask again, now surely after it.
			holder, ok, err = cl.LookupActor(ctx, name)
		}
		if err != nil {
			cl.ReleaseActorName(id, name)
			return fail(err)
		}
		if ok && holder.ID == id {
			h := c.created(spec)
			h.id = cl.SubmitReserved(spec, id)
			return h
		}
		cl.ReleaseActorName(id, name) // refused: dead already, made sure of
		if ok {
			return found(holder)
		}
		// Free again (the holder died since): claim it anew.
	}
	return ActorHandle[S]{err: fmt.Errorf("%w: %s: the name changed hands %d times while %s's creation claimed it", ErrActorNameTaken, nameText(cl, name), maxNameClaims, c.name)}
}

// LookupOption sets an option of a lookup by name: GetActor's, and
// GetPlacementGroup's.
type LookupOption func(*lookupOptions)

// GetActorOption is LookupOption, by the name GetActor's options had
// first.
type GetActorOption = LookupOption

type lookupOptions struct {
	ns    string
	nsSet bool
}

// namespace is the namespace a lookup of cl's looks in: the one
// InNamespace names (checked: ErrInvalidOption, what says who asked),
// else cl's.
func (o *lookupOptions) namespace(cl *node.Caller, what string) (string, error) {
	if !o.nsSet {
		return cl.Namespace(), nil
	}
	if err := transport.CheckNamespace(o.ns); err != nil {
		return "", fmt.Errorf("%w: %s: InNamespace: %w", ErrInvalidOption, what, err)
	}
	return o.ns, nil
}

// InNamespace makes GetActor look the name up in namespace ns rather than
// the caller's, as Ray's ray.get_actor(name, namespace=ns): how a job
// finds an actor another job named (a driver's namespace is anonymous,
// its own, unless set: SetNamespace, Config.Namespace). GetPlacementGroup
// takes it too (Ray's get_placement_group looks in the caller's
// namespace alone). ns is 1 to transport.MaxNamespace bytes, without a
// NUL byte (ErrInvalidOption).
func InNamespace(ns string) LookupOption {
	return func(o *lookupOptions) { o.ns, o.nsSet = ns, true }
}

// GetActor finds a live actor by name: one whose creation was submitted and
// is not done yet too, as Ray's (its calls wait for it to come up). As
// Ray's ray.get_actor, it looks in the caller's namespace (Namespace: a
// driver's own, a task's or actor's its job's), or in the one
// InNamespace names: an actor named in another namespace is not found
// (ErrActorNotFound). The actor must be of class c: one of another class
// is an *ActorClassError (ErrActorClass) naming both classes, not a
// handle whose every call the actor would refuse. A name the wire could
// not carry (empty, with a NUL byte, or longer than
// transport.MaxActorName) is refused (ErrInvalidOption).
func GetActor[S any](ctx context.Context, c *ActorClass[S], name string, opts ...GetActorOption) (ActorHandle[S], error) {
	if c == nil {
		return ActorHandle[S]{}, fmt.Errorf("%w: GetActor of a nil *ActorClass (not registered)", ErrUnknownFunction)
	}
	var o lookupOptions
	for _, opt := range opts {
		opt(&o)
	}
	cl, err := caller(ctx)
	if err != nil {
		return ActorHandle[S]{}, err
	}
	ns, err := o.namespace(cl, "GetActor")
	if err != nil {
		return ActorHandle[S]{}, err
	}
	if name == "" {
		return ActorHandle[S]{}, fmt.Errorf("%w: GetActor: an empty name", ErrInvalidOption)
	}
	q := transport.QualifiedName(ns, name)
	if err := transport.CheckActorName(q); err != nil {
		return ActorHandle[S]{}, fmt.Errorf("%w: GetActor: %w", ErrInvalidOption, err)
	}
	found, ok, err := cl.LookupActor(ctx, q)
	if err != nil {
		return ActorHandle[S]{}, err
	}
	if !ok {
		return ActorHandle[S]{}, fmt.Errorf("%w: %s", ErrActorNotFound, notFoundText(cl, q))
	}
	// The actor table records a named actor's class from its creation;
	// none on record (a table written before it kept classes) passes, and
	// a wrong class still fails at the first call (ErrUnknownFunction).
	if found.Class != "" && found.Class != c.name {
		return ActorHandle[S]{}, &ActorClassError{Name: name, Want: c.name, Have: found.Class}
	}
	// Its creation's call defaults (MaxRetries, MaxPendingCalls), kept
	// with the actor: calls through this handle behave as the creator's.
	return handleOf[S](found.ID, q, found.Calls), nil
}

// NamespacedName is a named actor as ListNamedActorsAllNamespaces lists
// it, as Ray's list_named_actors(all_namespaces=True) does: its
// namespace and its name.
type NamespacedName struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ListNamedActors lists the names of the named actors of the caller's
// namespace (Namespace), as Ray's ray.util.list_named_actors(): those not
// dead (pending, alive or restarting, as Ray's GCS lists them), detached
// or not, in increasing order. The GCS shards keeping names (names are
// spread over shards by name) are all asked and their lists merged. A
// named creation this caller submitted before the call is listed, as
// Ray's (which registers a named actor before its creation returns); an
// actor that dies meanwhile may be listed still, as in Ray.
func ListNamedActors(ctx context.Context) ([]string, error) {
	cl, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	qs, err := cl.ListNamedActors(ctx, cl.Namespace())
	if err != nil {
		return nil, fmt.Errorf("ray: ListNamedActors: %w", err)
	}
	names := make([]string, 0, len(qs))
	for _, q := range qs {
		names = append(names, transport.ActorNameOf(q))
	}
	return names, nil
}

// ListNamedActorsAllNamespaces lists the named actors of every
// namespace, as Ray's list_named_actors(all_namespaces=True): their
// namespaces and names, ordered by namespace then name; which are listed
// is as for ListNamedActors.
func ListNamedActorsAllNamespaces(ctx context.Context) ([]NamespacedName, error) {
	cl, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	qs, err := cl.ListNamedActors(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("ray: ListNamedActorsAllNamespaces: %w", err)
	}
	out := make([]NamespacedName, 0, len(qs))
	for _, q := range qs {
		// (A name with no namespace is no program's: none is listed.
		// NUL sorts first, so qualified names sort by namespace, then
		// name.)
		if ns, name := transport.SplitActorName(q); ns != "" {
			out = append(out, NamespacedName{Namespace: ns, Name: name})
		}
	}
	return out, nil
}

// Namespace is the namespace the caller finds and names actors in, as
// Ray's get_runtime_context().namespace: a driver's, set by SetNamespace
// or Config.Namespace, else its job's anonymous one (unique to the job,
// as Ray's: "anonymous-" and the job's ID; another job reaches its
// actors only by naming it, InNamespace); a task's or actor's code's,
// the namespace its submitter was in when it submitted it (a driver's
// namespace at that moment: see SetNamespace), however deep. "" outside
// a driver or task (ctx carries no caller).
func Namespace(ctx context.Context) string {
	cl, err := caller(ctx)
	if err != nil {
		return ""
	}
	return cl.Namespace()
}

// SetNamespace sets a driver's namespace, as Ray's
// ray.init(namespace=ns): the actors it names from then on are
// registered there, GetActor looks there, and the tasks and actors it
// submits from then on run in it (their GetActor and ActorName use it
// too, however deep). Drivers in one namespace share named actors; a
// driver that sets none is in an anonymous namespace of its own job's
// (Namespace). Config.Namespace sets it for every driver a cluster
// starts. Only a driver sets it (ErrInvalidOption from a task's or
// actor's code, which runs in the namespace it was submitted in); ns is
// 1 to transport.MaxNamespace bytes, without a NUL byte
// (ErrInvalidOption). Unlike Ray's (one ray.init per job), it may be
// called again, and each submission takes the namespace of the moment:
// a task submitted before it runs in the namespace before (the job's
// anonymous one), so one job's tasks can span namespaces. Calling it
// once, first, before submitting anything, is the Ray-like use.
func SetNamespace(ctx context.Context, ns string) error {
	cl, err := caller(ctx)
	if err != nil {
		return err
	}
	if err := cl.SetNamespace(ns); err != nil {
		return fmt.Errorf("%w: SetNamespace: %w", ErrInvalidOption, err)
	}
	return nil
}

// KillOption sets an option of Kill.
type KillOption func(*killOptions)

type killOptions struct{ restart bool }

// AllowRestart makes Kill end the actor's worker as Ray's
// ray.kill(actor, no_restart=False) does, rather than the actor: the
// actor is restarted as after a worker crash while its MaxRestarts allow
// (a restart counts against them; a checkpointed actor comes back from
// its checkpoint), and is dead (ErrActorDied) when none is left. Calls
// running or queued on it fail, or are retried as their MaxRetries allow
// (MaxRetries on the creation for every call: Ray's max_task_retries);
// later calls wait for the restart: those of the caller that killed it
// (its node's) at once, as Ray queues calls to a RESTARTING actor, and
// another node's once it hears of the restart — a call it sends to the
// ended instance before that fails, or is retried, as a running one
// (Ray reports an unreachable actor's call as RayActorError too). Its
// name stays taken meanwhile. The kill reaches the actor where it runs:
// one not up yet (its creation still queued) is not affected.
func AllowRestart() KillOption { return func(o *killOptions) { o.restart = true } }

// Kill ends an actor: pending and future calls fail with ErrActorDied, and
// its name is free again, whatever its MaxRestarts (Ray's default
// no_restart=True; see AllowRestart for no_restart=False). As Ray's kill,
// it ends one not created yet too (its creation queued, or infeasible for
// now): the actor never runs, or is killed where it comes up.
func Kill[S any](ctx context.Context, h ActorHandle[S], opts ...KillOption) error {
	var o killOptions
	for _, opt := range opts {
		opt(&o)
	}
	cl, err := caller(ctx)
	if err != nil {
		return err
	}
	if h.err != nil {
		return h.err
	}
	if h.id == 0 {
		// A zero handle names no actor: killing "actor 0" would tell every
		// raylet and the actor table of a death that is nobody's.
		return fmt.Errorf("%w: kill: the handle names no actor (a zero ActorHandle)", ErrActorNotFound)
	}
	if o.restart {
		cl.KillActorRestart(h.id)
		return nil
	}
	cl.KillActor(h.id, h.name)
	return nil
}

// ActorMethod is a registered method of class S returning R.
type ActorMethod[S, R any] struct {
	name string
	fn   string // "Class.method": what a call names, so an actor of another class refuses it
	opts options
	sig  *params // its parameters (not the instance), checked at Remote
}

// addMethod registers a method; like the Register functions it panics on
// a programming error (a nil class, an empty name, a nil fn, a name taken).
func addMethod[S, R any](c *ActorClass[S], name string, sig any, types []reflect.Type, m node.Method) *ActorMethod[S, R] {
	fn, o := newMethod(c, name, sig)
	c.typ.Methods[fn] = m
	return &ActorMethod[S, R]{name: name, fn: fn, opts: o, sig: paramsOf(fn, types...)}
}

// newMethod is what every method's registration does first (addMethod,
// addMultiMethod, addGenMethod): it checks the class and the name, enters
// the method ("Class.method") in the registry and returns its name and
// its default options (no CPU of its own, no retries).
func newMethod[S any](c *ActorClass[S], name string, sig any) (fn string, o options) {
	if c == nil {
		panic(fmt.Sprintf("ray: registering method %q of a nil *ActorClass", name))
	}
	if name == "" {
		panic(fmt.Sprintf("ray: registering a method of %q with an empty name", c.name))
	}
	fn = c.name + "." + name
	c.reg.add(fn, sig)
	o = defaultOptions()
	o.CPU = 0
	o.MaxRetries = 0
	return fn, o
}

// Method0 registers a method without arguments.
func Method0[S, R any](c *ActorClass[S], name string, fn func(context.Context, *S) (R, error)) *ActorMethod[S, R] {
	return addMethod[S, R](c, name, fn, nil, func(ctx context.Context, self any, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 0); err != nil {
			return transport.Value{}, err
		}
		out, ferr := fn(ctx, self.(*S))
		return result(ctx, out, ferr)
	})
}

// Method1 registers a method of one argument.
func Method1[S, A, R any](c *ActorClass[S], name string, fn func(context.Context, *S, A) (R, error)) *ActorMethod[S, R] {
	return addMethod[S, R](c, name, fn, []reflect.Type{reflect.TypeFor[A]()}, func(ctx context.Context, self any, args []transport.Value) (transport.Value, error) {
		if err := arity(name, args, 1); err != nil {
			return transport.Value{}, err
		}
		a, err := Decode[A](args[0])
		if err != nil {
			return argError(name, 1, err)
		}
		out, ferr := fn(ctx, self.(*S), a)
		return result(ctx, out, ferr)
	})
}

// Method2 registers a method of two arguments.
func Method2[S, A, B, R any](c *ActorClass[S], name string, fn func(context.Context, *S, A, B) (R, error)) *ActorMethod[S, R] {
	return addMethod[S, R](c, name, fn, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}, func(ctx context.Context, self any, args []transport.Value) (transport.Value, error) {
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
		out, ferr := fn(ctx, self.(*S), a, b)
		return result(ctx, out, ferr)
	})
}

// Options returns a copy of the method with options applied: Name,
// Duration, MaxRetries and ConcurrencyGroup (the group its calls run in,
// as Ray's @ray.method(concurrency_group=...); given again on a copy for
// one call, as Ray's .options(concurrency_group=...)); Remote refuses any
// other (ErrInvalidOption): a call runs where its actor lives, on the
// actor's resources. On a nil
// method it returns nil, whose Remote reports the mistake.
func (m *ActorMethod[S, R]) Options(o ...Option) *ActorMethod[S, R] {
	if m == nil {
		return nil
	}
	d := *m
	d.opts = m.opts.with(o)
	return &d
}

// Remote calls the method on the actor. Calls from one caller run in the
// order they were made (on a threaded actor they start in that order, and
// on one with concurrency groups in that order within each group). The arguments are checked here as Func.Remote
// checks a function's (ErrBadArgs on the ref); a nil method is
// ErrUnknownFunction.
func (m *ActorMethod[S, R]) Remote(ctx context.Context, h ActorHandle[S], args ...any) Ref[R] {
	if m == nil {
		return Ref[R]{err: fmt.Errorf("%w: Remote on a nil *ActorMethod (not registered)", ErrUnknownFunction)}
	}
	cl, cerr := caller(ctx)
	if cerr != nil {
		return Ref[R]{err: cerr}
	}
	id, err := submitCall(ctx, cl, h.target(), m.name, m.fn, &m.opts, m.sig, 1, args)
	if err != nil {
		return Ref[R]{err: err}
	}
	return Ref[R]{id: transport.ObjectID{Task: id}}
}

// submitCall checks and submits a call of method name (fn: "Class.method")
// on the actor h names with n returns, and returns the call's task ID. A
// call whose method handle and options set no MaxRetries takes the
// actor's (h.retries; Ray's max_task_retries), if its creation set one.
// A handle rebuilt from the actor's ID (ActorHandleOf) learns the actor's
// call defaults first (node.Caller.ActorCalls: once per caller and actor).
func submitCall(ctx context.Context, cl *node.Caller, h callTarget, name, fn string, opts *options, sig *params, n uint32, args []any) (transport.TaskID, error) {
	if h.err != nil {
		return 0, h.err
	}
	id := h.id
	if id == 0 {
		// A zero handle names no actor: with Actor 0 the call would run as
		// a plain task of the same name, if one were registered.
		return 0, fmt.Errorf("%w: %s: the handle names no actor (a zero ActorHandle)", ErrActorNotFound, name)
	}
	if h.byID {
		calls, err := cl.ActorCalls(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("ray: %s on actor %s: its call defaults: %w", name, id, err)
		}
		h.retries, h.retriesSet, h.pending = calls.Retries, calls.RetriesSet, int32(calls.Pending)
	}
	spec := &transport.TaskSpec{Func: name, Actor: id, NumReturns: n}
	if err := opts.apply(spec, 0, nil); err != nil { // a call runs where its actor is: nothing to capture; RetryExceptions is refused
		return 0, err
	}
	if h.retriesSet && opts.set&optMaxRetries == 0 {
		spec.MaxRetries = h.retries
	}
	// Named by the method alone (events, traces); the call names its class
	// too: two classes may share a Go type (so a handle of one passes for
	// the other's), and GetActor's handle is of the class asked for, not
	// necessarily the name holder's. The actor runs only its own class's
	// methods.
	spec.Func = fn
	spec.Resources = transport.Resources{}
	if err := encodeArgs(spec, fn, sig, args); err != nil {
		return 0, err
	}
	if h.pending > 0 {
		sub, ok := cl.SubmitLimited(spec, int(h.pending))
		if !ok {
			return 0, fmt.Errorf("%w: %s on actor %s: %d calls not finished yet (MaxPendingCalls(%d))", ErrPendingCallsLimitExceeded, name, id, h.pending, h.pending)
		}
		return sub, nil
	}
	return cl.Submit(spec), nil
}

// ActorHandleOf rebuilds a handle from an actor ID (IDs travel as values, so
// a task can be told which actors to call). It asks nobody; its first
// method call from each caller (a driver, or one run of a task or method)
// learns the actor's call defaults (MaxRetries and MaxPendingCalls on its
// creation: Ray's max_task_retries and max_pending_calls, which Ray keeps
// with the actor), so its calls behave as the creator's handle's, as a
// Ray handle's do however it was obtained: from the actor itself (an
// actor handing out ActorHandleOf(ray.ActorID(ctx))) or from its
// creator's node at once, else from the actor table, whose answer the
// node keeps (a GCS round trip, once, as the first call's routing needs
// anyway). A handle rebuilt from an ID that reached the caller before the
// actor table heard of the creation (sent ahead of it by another route)
// may learn none. Passing the handle itself (it travels as JSON with
// them) asks nobody.
func ActorHandleOf[S any](id transport.ActorID) ActorHandle[S] {
	return ActorHandle[S]{id: id, byID: true}
}

// TaskIDOf converts an ID carried as a number back to a task (or actor) ID.
func TaskIDOf(v uint64) transport.TaskID { return transport.TaskID(v) }
