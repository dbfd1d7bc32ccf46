package ray

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"raysim/runtime/node"
	"raysim/runtime/transport"
)

// Placement groups, as Ray's placement_group: a list of bundles (resource
// shapes) reserved on nodes atomically — all of them or none — under a
// strategy, so that tasks and actors placed in the group find their
// resources together (gang scheduling) and other work cannot take them.
//
//	pg, err := ray.NewPlacementGroup(ctx, []ray.Bundle{{CPU: 1}, {CPU: 1}}, ray.StrictPack)
//	if err := pg.Wait(ctx, 10*time.Second); err != nil { ... }   // ray.get(pg.ready())
//	ref := f.Options(ray.InPlacementGroup(pg, 0)).Remote(ctx, x) // bundle 0 (or -1: any)
//	err = ray.RemovePlacementGroup(ctx, pg)
//
// A task or actor placed with ray.InPlacementGroup(pg, i,
// ray.CaptureChildTasks()) takes the tasks and actors its code submits
// into the group too (any bundle), unless they name a scheduling strategy
// of their own (Spread, NodeAffinity, another InPlacementGroup,
// DefaultScheduling), and they capture theirs in turn, as Ray's
// placement_group_capture_child_tasks. A group made with
// ray.GroupDetached() outlives its driver (here: the driver's node), as
// Ray's lifetime="detached"; any driver finds a named group with
// ray.GetPlacementGroup(ctx, name) and may remove it.
//
// A group that cannot be placed now stays pending (a warning event names
// it) until the cluster's free resources fit it; Wait's timeout bounds the
// wait. The global scheduler places it and reserves its bundles on the
// raylets in two phases; a bundle whose node dies is placed again
// elsewhere, and the tasks that ran in it are retried as usual once it is
// back. Removing a group frees its resources, cancels its tasks (their Get
// returns ErrCancelled) and kills its actors (ErrActorDied).

// PlacementStrategy says how a group's bundles spread over nodes.
type PlacementStrategy uint8

// The strategies, as Ray's.
const (
	// Pack puts the bundles on as few nodes as possible (best effort).
	Pack PlacementStrategy = PlacementStrategy(transport.GroupPack)
	// SpreadBundles puts them on distinct nodes where possible (Ray's
	// SPREAD; Spread is the task option).
	SpreadBundles PlacementStrategy = PlacementStrategy(transport.GroupSpread)
	// StrictPack puts them all on one node.
	StrictPack PlacementStrategy = PlacementStrategy(transport.GroupStrictPack)
	// StrictSpread puts each on a distinct node.
	StrictSpread PlacementStrategy = PlacementStrategy(transport.GroupStrictSpread)
)

// String is Ray's name of the strategy ("STRICT_PACK").
func (s PlacementStrategy) String() string { return transport.GroupStrategyName(uint8(s)) }

// ParsePlacementStrategy reads Ray's name of a strategy.
func ParsePlacementStrategy(name string) (PlacementStrategy, error) {
	for _, s := range []PlacementStrategy{Pack, SpreadBundles, StrictPack, StrictSpread} {
		if s.String() == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown strategy %q: want PACK, SPREAD, STRICT_PACK or STRICT_SPREAD", ErrInvalidPlacementGroup, name)
}

// Bundle is one bundle of a placement group: the resources it reserves
// on one node (Ray's {"CPU": 1, "GPU": 1, "my_res": 2}).
type Bundle struct {
	CPU, GPU float64
	// Resources are custom resources by name.
	Resources map[string]float64
}

// resources checks the bundle as Ray does and converts it.
func (b Bundle) resources() (transport.Resources, error) {
	if err := transport.CheckRequest(b.CPU, false); err != nil {
		return transport.Resources{}, fmt.Errorf("CPU: %w", err)
	}
	if err := transport.CheckRequest(b.GPU, true); err != nil {
		return transport.Resources{}, fmt.Errorf("GPU: %w", err)
	}
	names := make([]string, 0, len(b.Resources))
	for name := range b.Resources {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad one named is always the same
	for _, name := range names {
		if name == "" || name == "CPU" || name == "GPU" || transport.IsBundleResource(name) {
			return transport.Resources{}, fmt.Errorf("resource name %q: want a custom resource's name (CPU and GPU are fields)", name)
		}
		if err := transport.CheckRequest(b.Resources[name], false); err != nil {
			return transport.Resources{}, fmt.Errorf("resource %q: %w", name, err)
		}
	}
	r := transport.MakeResources(b.CPU, b.GPU, b.Resources)
	if r.IsZero() {
		return transport.Resources{}, fmt.Errorf("the bundle asks for nothing")
	}
	return r, nil
}

// PlacementGroup is a handle on a placement group this driver or task
// created.
type PlacementGroup struct {
	id transport.GroupID
	// name and ns: the group's name and the namespace it is registered in
	// ("" and "": none).
	name, ns string
	strategy PlacementStrategy
	bundles  []transport.Resources
}

// ID is the group's ID.
func (pg *PlacementGroup) ID() transport.GroupID { return pg.id }

// Name is the group's name ("" if none was given).
func (pg *PlacementGroup) Name() string { return pg.name }

// Namespace is the namespace the group's name is registered in (see
// GroupName; "" for a group without a name).
func (pg *PlacementGroup) Namespace() string { return pg.ns }

// label names the group in an error: its ID, and its name if it has one.
func (pg *PlacementGroup) label() string {
	if pg.name == "" {
		return fmt.Sprintf("placement group %s", pg.id)
	}
	return fmt.Sprintf("placement group %s (%q)", pg.id, pg.name)
}

// Strategy is the group's strategy.
func (pg *PlacementGroup) Strategy() PlacementStrategy { return pg.strategy }

// BundleCount is the number of bundles.
func (pg *PlacementGroup) BundleCount() int { return len(pg.bundles) }

type groupJSON struct {
	ID        uint64                `json:"id"`
	Name      string                `json:"name,omitempty"`
	Namespace string                `json:"namespace,omitempty"`
	Strategy  uint8                 `json:"strategy"`
	Bundles   []transport.Resources `json:"bundles"`
}

// MarshalJSON lets a group's handle travel inside values (a task's
// argument or result), as Ray passes placement groups to tasks and
// actors: the receiver can run tasks in it, Wait for it and remove it.
func (pg *PlacementGroup) MarshalJSON() ([]byte, error) {
	if pg == nil || pg.id == 0 {
		return nil, fmt.Errorf("%w: a nil or zero PlacementGroup does not travel", ErrInvalidPlacementGroup)
	}
	return json.Marshal(groupJSON{ID: uint64(pg.id), Name: pg.name, Namespace: pg.ns, Strategy: uint8(pg.strategy), Bundles: pg.bundles})
}

// UnmarshalJSON reads a handle written by MarshalJSON, refusing one with
// no ID, no bundles or an unknown strategy.
func (pg *PlacementGroup) UnmarshalJSON(b []byte) error {
	var j groupJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.ID == 0 || len(j.Bundles) == 0 || len(j.Bundles) > transport.MaxBundles || j.Strategy > uint8(StrictSpread) {
		return fmt.Errorf("%w: a placement group handle with ID %d, %d bundles, strategy %d", ErrInvalidPlacementGroup, j.ID, len(j.Bundles), j.Strategy)
	}
	*pg = PlacementGroup{id: transport.GroupID(j.ID), name: j.Name, ns: j.Namespace, strategy: PlacementStrategy(j.Strategy), bundles: j.Bundles}
	return nil
}

// GroupOption sets an option of a placement group.
type GroupOption func(*groupOptions)

type groupOptions struct {
	name     string
	nameSet  bool // GroupName was given: "" is refused, not "no name"
	detached bool
	ns       string
	nsSet    bool
}

// GroupName names a placement group (traces and warnings name it;
// GetPlacementGroup finds it by it). As Ray's, a name is registered in a
// namespace, as an actor's name is: its creator's (Namespace: a driver's,
// or its job's anonymous one), or the one GroupNamespace gives; the same
// name in two namespaces is two groups. A name is unique among live
// groups of its namespace: a group created under a name a live group
// holds there is refused by the global scheduler, and its Wait returns an
// error wrapping ErrInvalidPlacementGroup that says so. A removed group's
// name is free. A name is 1 to transport.MaxGroupName bytes, without a
// NUL byte (ErrInvalidPlacementGroup).
func GroupName(name string) GroupOption {
	return func(o *groupOptions) { o.name, o.nameSet = name, true }
}

// GroupNamespace registers the group's name (GroupName) in namespace ns
// rather than its creator's, as ActorNamespace does an actor's (Ray's
// placement_group takes no namespace: its groups' names are in their
// job's): GetPlacementGroup finds it there with InNamespace(ns), or from
// a driver whose namespace is ns. ns is 1 to transport.MaxNamespace
// bytes, without a NUL byte; with GroupName only (ErrInvalidPlacementGroup
// without: the namespace is the name's).
func GroupNamespace(ns string) GroupOption {
	return func(o *groupOptions) { o.ns, o.nsSet = ns, true }
}

// GroupDetached makes a placement group detached, as Ray's
// lifetime="detached": it is not removed when the driver that created it
// ends (here: when the driver's node dies, which removes a driver's other
// groups); only RemovePlacementGroup removes it. Give it a name
// (GroupName) so another driver can find it (GetPlacementGroup). A group
// a task creates outlives the task already (its retry takes it over).
func GroupDetached() GroupOption { return func(o *groupOptions) { o.detached = true } }

// NewPlacementGroup creates a placement group of bundles under a
// strategy, as Ray's placement_group: it returns at once, the group
// pending; Wait blocks until it is ready. It refuses, with an error
// wrapping ErrInvalidPlacementGroup, an empty list, a bundle asking for
// nothing or for a bad amount, and an unknown strategy.
func NewPlacementGroup(ctx context.Context, bundles []Bundle, strategy PlacementStrategy, opts ...GroupOption) (*PlacementGroup, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var o groupOptions
	for _, opt := range opts {
		opt(&o)
	}
	if len(bundles) == 0 {
		return nil, fmt.Errorf("%w: no bundles: want at least one", ErrInvalidPlacementGroup)
	}
	if len(bundles) > transport.MaxBundles {
		return nil, fmt.Errorf("%w: %d bundles: at most %d", ErrInvalidPlacementGroup, len(bundles), transport.MaxBundles)
	}
	if strategy > StrictSpread {
		return nil, fmt.Errorf("%w: unknown strategy %d: want Pack, SpreadBundles, StrictPack or StrictSpread", ErrInvalidPlacementGroup, uint8(strategy))
	}
	pg := &PlacementGroup{name: o.name, strategy: strategy, bundles: make([]transport.Resources, len(bundles))}
	var q string // the name as it travels (qualified by its namespace)
	switch {
	case o.nameSet && o.name == "":
		// Not "no name": a name computed from an empty variable would
		// make a group nobody can find.
		return nil, fmt.Errorf("%w: GroupName(\"\"): an empty name (a name is 1 to %d bytes; leave GroupName out for an unnamed group)", ErrInvalidPlacementGroup, transport.MaxGroupName)
	case o.name != "":
		pg.ns = c.Namespace()
		if o.nsSet {
			if err := transport.CheckNamespace(o.ns); err != nil {
				return nil, fmt.Errorf("%w: GroupNamespace: %w", ErrInvalidPlacementGroup, err)
			}
			pg.ns = o.ns
		}
		q = transport.QualifiedName(pg.ns, o.name)
		if err := transport.CheckPlacementGroupName(q); err != nil {
			return nil, fmt.Errorf("%w: GroupName: %w", ErrInvalidPlacementGroup, err)
		}
	case o.nsSet:
		return nil, fmt.Errorf("%w: GroupNamespace(%q) without GroupName (the namespace is the name's)", ErrInvalidPlacementGroup, o.ns)
	}
	for i, b := range bundles {
		if pg.bundles[i], err = b.resources(); err != nil {
			return nil, fmt.Errorf("%w: bundle %d: %w", ErrInvalidPlacementGroup, i, err)
		}
	}
	pg.id = c.CreateGroup(q, uint8(strategy), o.detached, pg.bundles)
	return pg, nil
}

// GetPlacementGroup returns a handle on the live placement group of a
// name, as Ray's ray.util.get_placement_group: created by any driver or
// task, detached or not, pending or ready, and named in the caller's
// namespace (Namespace: a driver's, or its job's anonymous one), as
// Ray's looks in the caller's, or in the one InNamespace names. The
// handle runs tasks in the group, Waits for it and removes it, as its
// creator's does. A name no live group of that namespace has (never
// created, named in another namespace, or the group was removed) is an
// error wrapping ErrPlacementGroupNotFound (names are unique among live
// groups of a namespace: see GroupName). It asks the global scheduler, so
// a group whose creation has not reached it yet is not found (a creation
// from the same caller goes first).
func GetPlacementGroup(ctx context.Context, name string, opts ...LookupOption) (*PlacementGroup, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var o lookupOptions
	for _, opt := range opts {
		opt(&o)
	}
	ns, err := o.namespace(c, "GetPlacementGroup")
	if err != nil {
		return nil, err
	}
	q := transport.QualifiedName(ns, name)
	if err := transport.CheckPlacementGroupName(q); name == "" || err != nil {
		return nil, fmt.Errorf("%w: %w: name of %d bytes: want 1 to %d, without a NUL byte", ErrPlacementGroupNotFound, ErrInvalidPlacementGroup, len(name), transport.MaxGroupName)
	}
	text := strconv.Quote(name)
	if ns != c.Namespace() {
		text = transport.ActorNameText(q)
	}
	f, err := c.LookupGroup(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ray: placement group %s: %w", text, err)
	}
	if f == nil {
		return nil, fmt.Errorf("%w: %s", ErrPlacementGroupNotFound, notFoundText(c, q))
	}
	if f.Group == 0 || len(f.Bundles) == 0 || f.Strategy > uint8(StrictSpread) {
		return nil, fmt.Errorf("%w: %w: the scheduler answered %s with group %s of %d bundles", ErrPlacementGroupNotFound, ErrInvalidPlacementGroup, text, f.Group, len(f.Bundles))
	}
	return &PlacementGroup{id: f.Group, name: name, ns: ns, strategy: PlacementStrategy(f.Strategy), bundles: f.Bundles}, nil
}

// Wait blocks until every bundle of the group is reserved (nil), as
// ray.get(pg.ready()) does, or timeout (<0: none; virtual time in netsim)
// passes first: ErrTimeout, the group still pending (Ray's pg.wait
// returning False). A removed group's Wait returns ErrPlacementGroupRemoved.
// On TCP a done ctx ends it too. A task handed the group (it travels in
// values) may Wait for it too: its node asks the global scheduler.
func (pg *PlacementGroup) Wait(ctx context.Context, timeout time.Duration) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	if pg == nil || pg.id == 0 {
		return fmt.Errorf("%w: a nil or zero PlacementGroup", ErrInvalidPlacementGroup)
	}
	err = c.WaitGroup(ctx, pg.id, timeout)
	if errors.Is(err, ErrTimeout) {
		// ErrTimeout's own text speaks of an object: say what is late.
		what := pg.label() + " not placed"
		if timeout > 0 {
			what += fmt.Sprintf(" after %v", timeout)
		}
		return &timeoutError{what: what + " (its bundles are not all reserved)"}
	}
	return err
}

// Ready returns a ref that becomes ready, holding true, once every bundle
// of the group is reserved, as Ray's pg.ready(): a ref like any task's, so
// it can be given to Wait (WaitObjects for refs of mixed types) with others,
// or to Get. As Ray's, it is a task of no resources placed in the group's
// bundle 0, which runs once the group is placed (all its bundles are
// reserved together). A group removed before that fails it
// (ErrUnschedulable, as any task submitted to a removed group); a bad
// handle makes the ref's Err ErrInvalidPlacementGroup. Wait(ctx, timeout)
// is the blocking form.
func (pg *PlacementGroup) Ready(ctx context.Context) Ref[bool] {
	if pg == nil || pg.id == 0 {
		return Ref[bool]{err: fmt.Errorf("%w: a nil or zero PlacementGroup", ErrInvalidPlacementGroup)}
	}
	f := &Func[bool]{name: readyFuncName, opts: defaultOptions(), sig: paramsOf(readyFuncName)}
	return f.Options(CPUs(0), InPlacementGroup(pg, 0), Name(fmt.Sprintf("%s.ready", pg.id))).Remote(ctx)
}

// readyFuncName is the function of Ready's task, which every Registry
// serves (Registry.Func) unregistered.
const readyFuncName = "ray.PlacementGroup.ready"

// readyFunc is Ready's task: it runs once the group is placed, and says so.
var readyFunc node.Func = func(ctx context.Context, args []transport.Value) (transport.Value, error) {
	if err := arity(readyFuncName, args, 0); err != nil {
		return transport.Value{}, err
	}
	return result(ctx, true, nil)
}

// timeoutError is an ErrTimeout (errors.Is) that says what was not ready,
// where ErrTimeout's text speaks of an object.
type timeoutError struct{ what string }

// Error says what timed out.
func (e *timeoutError) Error() string { return "ray: timed out: " + e.what }

// Unwrap lets errors.Is match ErrTimeout.
func (e *timeoutError) Unwrap() error { return ErrTimeout }

// RemovePlacementGroup removes a group, as Ray's remove_placement_group
// (from the driver or task that created it, or one it was handed to):
// its reserved resources are freed, tasks running or queued in it are
// cancelled (their Get returns ErrCancelled), its actors are killed
// (ErrActorDied), and tasks submitted to it later fail (ErrUnschedulable).
// It returns once the global scheduler has removed it (the raylets free
// the bundles as its word reaches them).
func RemovePlacementGroup(ctx context.Context, pg *PlacementGroup) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	if pg == nil || pg.id == 0 {
		return fmt.Errorf("%w: a nil or zero PlacementGroup", ErrInvalidPlacementGroup)
	}
	return c.RemoveGroup(ctx, pg.id)
}

// PlacementOption sets an option of InPlacementGroup.
type PlacementOption func(*placement)

type placement struct{ capture bool }

// CaptureChildTasks makes the tasks and actors that the task (or actor)
// placed in the group submits run in the group too, in any of its bundles
// (index -1), as Ray's placement_group_capture_child_tasks=True: unless
// they name a scheduling strategy of their own (Spread, NodeAffinity,
// InPlacementGroup, DefaultScheduling), which they then keep. They
// capture their own children in turn, so a whole tree of tasks stays in
// the group. The capture travels in the task's spec (its retries and
// rebuilds capture too). A captured child is not checked against the
// bundles' shapes (its submitter does not hold them): one asking more
// than any node's bundles of the group hold waits, held with an
// infeasible warning, as in Ray. Mind that a task blocked in Get keeps its
// bundle's CPU (as Ray's does), so parents waiting on children they
// captured need bundles enough for both.
func CaptureChildTasks() PlacementOption { return func(p *placement) { p.capture = true } }

// InPlacementGroup runs a task, or places an actor, in bundle
// bundleIndex of pg, or in any of its bundles with -1, as Ray's
// PlacementGroupSchedulingStrategy: it runs on that bundle's node and
// uses the bundle's resources only (its CPUs, GPUs and custom resources
// are asked of the bundle), waiting while the group is pending. A request
// the bundle (or, for -1, every bundle) cannot hold, or an index out of
// range, is an error wrapping ErrInvalidOption and ErrInvalidPlacementGroup
// (the ref's Err). It replaces a NodeAffinity or Spread option given
// before it (Ray takes one scheduling strategy), as they replace it.
// With CaptureChildTasks, what the task submits runs in the group too.
// Not for method calls (ErrInvalidOption): a call runs where its actor is.
func InPlacementGroup(pg *PlacementGroup, bundleIndex int, opts ...PlacementOption) Option {
	var p placement
	for _, opt := range opts {
		opt(&p)
	}
	return func(o *options) {
		o.Strategy, o.Target, o.strategySet, o.capture = transport.StrategyDefault, 0, true, p.capture
		o.set |= optGroup
		switch {
		case pg == nil || pg.id == 0:
			o.err = fmt.Errorf("%w: %w: a nil or zero PlacementGroup", ErrInvalidOption, ErrInvalidPlacementGroup)
		case bundleIndex < -1 || bundleIndex >= len(pg.bundles):
			o.err = fmt.Errorf("%w: %w: bundle index %d of %s's %d bundles: want -1 to %d",
				ErrInvalidOption, ErrInvalidPlacementGroup, bundleIndex, pg.id, len(pg.bundles), len(pg.bundles)-1)
		default:
			o.group, o.bundle = pg, bundleIndex
		}
	}
}

// inGroup rewrites a spec's request to run in its group's bundle (see
// InPlacementGroup), after checking that the bundle can hold it.
func (o *options) inGroup(spec *transport.TaskSpec) error {
	pg, req := o.group, spec.Resources
	fits := false
	if o.bundle >= 0 {
		fits = req.Fits(pg.bundles[o.bundle])
	} else {
		fits = slices.ContainsFunc(pg.bundles, req.Fits)
	}
	if !fits {
		which := fmt.Sprintf("bundle %d (%s)", o.bundle, pg.bundles[max(o.bundle, 0)])
		if o.bundle < 0 {
			which = "no bundle"
		}
		return fmt.Errorf("%w: %w: the request %s does not fit %s of %s", ErrInvalidOption, ErrInvalidPlacementGroup, req, which, pg.id)
	}
	spec.Resources = transport.InBundle(pg.id, o.bundle, req)
	spec.CaptureChildTasks = o.capture
	return nil
}
