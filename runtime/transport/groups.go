package transport

import (
	"fmt"
	"strconv"
	"strings"
)

// Placement groups (Ray's placement_group): a set of bundles, each a
// resource shape, reserved on nodes all together or not at all. The global
// scheduler places a group's bundles and reserves them on the raylets in
// two phases (BundlePrepare, then BundleCommit or BundleRelease). A
// committed bundle turns the node's resources it took into renamed ones, as
// Ray does: bundle i of group g holding 2 CPUs adds "CPU_group_i_<g>" = 2
// and "CPU_group_<g>" = 2 to the node, so a task in the group asks for the
// renamed resources and the ordinary scheduling (local or global) takes it
// to the bundle's node, and only the group's tasks can use them.

// GroupID names a placement group: derived from its creator's task ID and
// submission counter (ChildTaskID), as a task's ID is.
type GroupID uint64

func (g GroupID) String() string { return fmt.Sprintf("pg%016x", uint64(g)) }

// hex is the form of g in renamed resources' names.
func (g GroupID) hex() string { return fmt.Sprintf("%016x", uint64(g)) }

// Placement strategies (GroupCreate.Strategy), as Ray's.
const (
	GroupPack         uint8 = iota // as few nodes as possible, best effort
	GroupSpread                    // distinct nodes, best effort
	GroupStrictPack                // all bundles on one node
	GroupStrictSpread              // every bundle on a distinct node
	numGroupStrategies
)

// GroupStrategyName is the Ray name of a placement strategy.
func GroupStrategyName(s uint8) string {
	switch s {
	case GroupPack:
		return "PACK"
	case GroupSpread:
		return "SPREAD"
	case GroupStrictPack:
		return "STRICT_PACK"
	case GroupStrictSpread:
		return "STRICT_SPREAD"
	}
	return fmt.Sprintf("strategy(%d)", s)
}

// Group states (GroupState.State).
const (
	GroupPending  uint8 = iota // not (all) placed yet
	GroupReady                 // every bundle reserved
	GroupRemoved               // removed: its bundles are released
	GroupRejected              // the scheduler refused it (a bad request)
	numGroupStates
)

// Bounds of a group on the wire.
const (
	MaxBundles    = 1024 // bundles in one group
	MaxGroupName  = 256  // bytes of a group's name within its namespace
	maxGroupError = 1024 // bytes of a state's detail
)

// CheckPlacementGroupName checks a placement group's name as it travels
// (GroupCreate.Name, GroupLookup.Name, GroupFound.Name): none (""), or,
// as an actor's name (QualifiedName), a namespace that CheckNamespace
// accepts, a NUL byte and a name of 1 to MaxGroupName bytes without a
// NUL, so that group names are per namespace as Ray's are. A bare name
// (no NUL) of at most MaxGroupName bytes passes too: a key like any
// other for the scheduler, which no program's lookup names. It wraps
// ErrInvalid or ErrTooLarge.
func CheckPlacementGroupName(q string) error {
	ns, name := SplitActorName(q)
	if len(q) > len(name) {
		if err := CheckNamespace(ns); err != nil {
			return fmt.Errorf("placement group name's %w", err)
		}
		if name == "" || strings.IndexByte(name, 0) >= 0 {
			return fmt.Errorf("%w: placement group name %q in namespace %q (empty, or with a NUL byte)", ErrInvalid, name, ns)
		}
	}
	if len(name) > MaxGroupName {
		return fmt.Errorf("%w: placement group name of %d bytes, more than %d", ErrTooLarge, len(name), MaxGroupName)
	}
	return nil
}

// groupName reads a group's name (CheckPlacementGroupName).
func (d *Decoder) groupName() string {
	q := d.String()
	if err := CheckPlacementGroupName(q); err != nil && d.err == nil {
		d.Fail(err)
	}
	return q
}

// BundleMarker is the amount of a bundle's marker resource ("bundle_group_i_<g>")
// each bundle offers; a task in the group asks for one unit of it, so a task
// asking for nothing else (an actor of no CPU) still runs in its bundle.
const BundleMarker = 1000 * ResourceUnit

// groupInfix separates a resource's base name from its group suffix.
const groupInfix = "_group_"

// markerBase is the base name of a bundle's marker resource.
const markerBase = "bundle"

// BundleResourceName is Ray's name of resource base in bundle index of
// group g ("CPU_group_0_<g>"), or, for index -1, in any bundle of g
// ("CPU_group_<g>").
func BundleResourceName(base string, g GroupID, index int) string {
	if index < 0 {
		return base + groupInfix + g.hex()
	}
	return base + groupInfix + strconv.Itoa(index) + "_" + g.hex()
}

// ParseBundleResource splits a renamed resource's name: its group and
// bundle index (-1: the group-wide name); ok is false for any other name.
func ParseBundleResource(name string) (g GroupID, index int, ok bool) {
	i := strings.LastIndex(name, groupInfix)
	if i <= 0 {
		return 0, 0, false
	}
	rest := name[i+len(groupInfix):]
	index = -1
	if j := strings.IndexByte(rest, '_'); j >= 0 {
		n, err := strconv.Atoi(rest[:j])
		if err != nil || n < 0 || n >= MaxBundles || strconv.Itoa(n) != rest[:j] {
			return 0, 0, false
		}
		index, rest = n, rest[j+1:]
	}
	if len(rest) != 16 {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(rest, 16, 64)
	if err != nil {
		return 0, 0, false
	}
	return GroupID(v), index, true
}

// IsBundleResource reports whether name is a renamed (placement group)
// resource's.
func IsBundleResource(name string) bool {
	_, _, ok := ParseBundleResource(name)
	return ok
}

// BundleResources is what a committed bundle index of group g holding res
// adds to its node: each resource under its indexed and group-wide names,
// and the bundle's markers (sorted, as Resources keep them).
func BundleResources(g GroupID, index int, res Resources) Resources {
	return renamed(g, index, res, BundleMarker, true)
}

// InBundle rewrites a task's request to run in bundle index of group g
// (-1: any of its bundles), as Ray's PlacementGroupSchedulingStrategy
// does: each resource asked for under its indexed and group-wide names
// (the group-wide one alone for index -1), and one unit of the marker, so
// that it runs only where the bundle is and uses the bundle's resources
// only.
func InBundle(g GroupID, index int, req Resources) Resources {
	return renamed(g, index, req, 1, index >= 0)
}

func renamed(g GroupID, index int, res Resources, marker int64, both bool) Resources {
	var out Resources
	add := func(base string, amount int64) {
		if amount == 0 {
			return
		}
		if index >= 0 {
			out.Custom = append(out.Custom, Quantity{Name: BundleResourceName(base, g, index), Amount: amount})
		}
		if both || index < 0 {
			out.Custom = append(out.Custom, Quantity{Name: BundleResourceName(base, g, -1), Amount: amount})
		}
	}
	add("CPU", res.CPU)
	add("GPU", res.GPU)
	for _, q := range res.Custom {
		add(q.Name, q.Amount)
	}
	add(markerBase, marker)
	sortQuantities(out.Custom)
	// A custom resource whose name is a renamed one's (a user's "bundle")
	// adds to it: names stay unique, as Resources require.
	merged := out.Custom[:0]
	for _, q := range out.Custom {
		if n := len(merged); n > 0 && merged[n-1].Name == q.Name {
			merged[n-1].Amount += q.Amount
			continue
		}
		merged = append(merged, q)
	}
	out.Custom = merged
	return out
}

func sortQuantities(qs []Quantity) {
	// Insertion sort: a bundle has a handful of resources.
	for i := 1; i < len(qs); i++ {
		for j := i; j > 0 && qs[j].Name < qs[j-1].Name; j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
}

// GroupOf returns the placement group a task's request names (through its
// group-wide marker), if any.
func GroupOf(r Resources) (GroupID, bool) {
	for _, q := range r.Custom {
		if !strings.HasPrefix(q.Name, markerBase+groupInfix) {
			continue
		}
		if g, index, ok := ParseBundleResource(q.Name); ok && index < 0 {
			return g, true
		}
	}
	return 0, false
}

// WithoutGroups returns r less its placement group resources (a node's
// physical resources beside the bundles it holds).
func (r Resources) WithoutGroups() Resources {
	out := Resources{CPU: r.CPU, GPU: r.GPU}
	for _, q := range r.Custom {
		if !IsBundleResource(q.Name) {
			out.Custom = append(out.Custom, q)
		}
	}
	return out
}

// Bundle is one bundle of a group as the scheduler reserves it on a node.
type Bundle struct {
	Index     uint32
	Resources Resources
}

// GroupCreate asks the global scheduler to place a group (from its owner's
// raylet, which hears back GroupState). ByDriver: a driver created it (the
// group ends with the driver's node, as Ray's with its driver), unless
// Detached (Ray's lifetime="detached": only a removal ends it). Name, if
// any, is qualified by its namespace (QualifiedName; CheckPlacementGroupName), as
// an actor's: names are unique among live groups of one namespace.
type GroupCreate struct {
	Group    GroupID
	Name     string
	Strategy uint8
	ByDriver bool
	Detached bool
	Bundles  []Resources
}

// GroupLookup asks the global scheduler for the live group of a name
// (Ray's get_placement_group), from a raylet whose caller looks it up:
// the scheduler answers GroupFound. The name is qualified by the
// namespace looked in (QualifiedName).
type GroupLookup struct{ Name string }

// GroupFound answers a GroupLookup: the live (not removed) group of the
// name, if Found, with what its handle holds.
type GroupFound struct {
	Name     string
	Found    bool
	Group    GroupID
	Strategy uint8
	Bundles  []Resources
}

// GroupRemove asks the global scheduler to remove a group (from any
// node, as Ray lets any holder of a group's handle remove it; the sender
// hears GroupState): its bundles are released, and the tasks and actors
// running in them end.
type GroupRemove struct{ Group GroupID }

// GroupWatch asks the global scheduler for a group's state, from a node
// other than its creator's (a task that was handed the group): the
// scheduler answers with GroupState once the group is ready or removed,
// or at once if it is. An unknown group is not answered (its creation may
// still be on its way): the asker asks again.
type GroupWatch struct{ Group GroupID }

// GroupState tells a group's owner what became of it: ready, removed, or
// rejected (Detail says why).
type GroupState struct {
	Group  GroupID
	State  uint8
	Detail string
}

// BundlePrepare asks a raylet (of Incarnation) to set aside a group's
// bundles (the first phase of a reservation): the raylet answers with
// BundlePrepared, naming Round.
type BundlePrepare struct {
	Group       GroupID
	Round       uint64
	Incarnation uint64
	Bundles     []Bundle
}

// BundlePrepared answers a BundlePrepare: OK when every bundle is set
// aside, none when not.
type BundlePrepared struct {
	Group       GroupID
	Round       uint64
	Incarnation uint64
	OK          bool
}

// BundleCommit makes the bundles a raylet set aside in Round usable by the
// group's tasks (the second phase): their resources are renamed.
type BundleCommit struct {
	Group GroupID
	Round uint64
}

// BundleRelease gives back bundles of a group a raylet set aside or
// committed (an aborted reservation, or the group's removal); a release
// of committed bundles ends the tasks and actors running in the group.
type BundleRelease struct {
	Group   GroupID
	Indices []uint32
}

// Message kinds of placement groups.
const (
	KindGroupCreate Kind = 100 + iota
	KindGroupRemove
	KindGroupState
	KindBundlePrepare
	KindBundlePrepared
	KindBundleCommit
	KindBundleRelease
	KindGroupWatch
	KindGroupLookup
	KindGroupFound
)

func (*GroupCreate) Kind() Kind    { return KindGroupCreate }
func (*GroupRemove) Kind() Kind    { return KindGroupRemove }
func (*GroupState) Kind() Kind     { return KindGroupState }
func (*BundlePrepare) Kind() Kind  { return KindBundlePrepare }
func (*BundlePrepared) Kind() Kind { return KindBundlePrepared }
func (*BundleCommit) Kind() Kind   { return KindBundleCommit }
func (*BundleRelease) Kind() Kind  { return KindBundleRelease }
func (*GroupWatch) Kind() Kind     { return KindGroupWatch }
func (*GroupLookup) Kind() Kind    { return KindGroupLookup }
func (*GroupFound) Kind() Kind     { return KindGroupFound }

func (m *GroupLookup) MarshalWire(e *Encoder) { e.String(m.Name) }
func (m *GroupLookup) UnmarshalWire(d *Decoder) {
	m.Name = d.groupName()
}

func (m *GroupFound) MarshalWire(e *Encoder) {
	e.String(m.Name)
	e.Bool(m.Found)
	e.Group(m.Group)
	e.U8(m.Strategy)
	e.Uvarint(uint64(len(m.Bundles)))
	for _, b := range m.Bundles {
		e.Resources(b)
	}
}

// UnmarshalWire refuses an unknown strategy, more than MaxBundles bundles
// and negative amounts, as GroupCreate's.
func (m *GroupFound) UnmarshalWire(d *Decoder) {
	m.Name = d.groupName()
	m.Found, m.Group, m.Strategy = d.Bool(), d.Group(), d.U8()
	if d.err == nil && m.Strategy >= numGroupStrategies {
		d.Fail(fmt.Errorf("%w: placement strategy %d", ErrInvalid, m.Strategy))
	}
	if n := d.Count(MaxBundles, 3); n > 0 {
		m.Bundles = make([]Resources, n)
		for i := range m.Bundles {
			m.Bundles[i] = d.ResourcesNonNeg()
		}
	}
}

func (m *GroupWatch) MarshalWire(e *Encoder)   { e.Group(m.Group) }
func (m *GroupWatch) UnmarshalWire(d *Decoder) { m.Group = d.Group() }

func (e *Encoder) Group(g GroupID) { e.U64(uint64(g)) }
func (d *Decoder) Group() GroupID  { return GroupID(d.U64()) }

// boundedString reads a string of at most max bytes.
func (d *Decoder) boundedString(what string, max int) string {
	s := d.String()
	if d.err == nil && len(s) > max {
		d.Fail(fmt.Errorf("%w: %s of %d bytes (at most %d)", ErrTooLarge, what, len(s), max))
		return ""
	}
	return s
}

func (m *GroupCreate) MarshalWire(e *Encoder) {
	e.Group(m.Group)
	e.String(m.Name)
	e.U8(m.Strategy)
	e.U8(b2u(m.ByDriver) | b2u(m.Detached)<<1) // as long as the one bool it was
	e.Uvarint(uint64(len(m.Bundles)))
	for _, b := range m.Bundles {
		e.Resources(b)
	}
}

// UnmarshalWire refuses an unknown strategy, more than MaxBundles bundles
// and negative amounts.
func (m *GroupCreate) UnmarshalWire(d *Decoder) {
	m.Group = d.Group()
	m.Name = d.groupName()
	m.Strategy = d.U8()
	if d.err == nil && m.Strategy >= numGroupStrategies {
		d.Fail(fmt.Errorf("%w: placement strategy %d", ErrInvalid, m.Strategy))
	}
	f := d.U8()
	m.ByDriver, m.Detached = f&1 != 0, f&2 != 0
	if n := d.Count(MaxBundles, 3); n > 0 {
		m.Bundles = make([]Resources, n)
		for i := range m.Bundles {
			m.Bundles[i] = d.ResourcesNonNeg()
		}
	}
}

func (m *GroupRemove) MarshalWire(e *Encoder)   { e.Group(m.Group) }
func (m *GroupRemove) UnmarshalWire(d *Decoder) { m.Group = d.Group() }

func (m *GroupState) MarshalWire(e *Encoder) {
	e.Group(m.Group)
	e.U8(m.State)
	e.String(m.Detail)
}
func (m *GroupState) UnmarshalWire(d *Decoder) {
	m.Group, m.State = d.Group(), d.U8()
	if d.err == nil && m.State >= numGroupStates {
		d.Fail(fmt.Errorf("%w: group state %d", ErrInvalid, m.State))
	}
	m.Detail = d.boundedString("group state detail", maxGroupError)
}

func (m *BundlePrepare) MarshalWire(e *Encoder) {
	e.Group(m.Group)
	e.Uvarint(m.Round)
	e.Uvarint(m.Incarnation)
	e.Uvarint(uint64(len(m.Bundles)))
	for _, b := range m.Bundles {
		e.Uvarint(uint64(b.Index))
		e.Resources(b.Resources)
	}
}

// UnmarshalWire refuses more than MaxBundles bundles, an index past
// MaxBundles, and negative amounts.
func (m *BundlePrepare) UnmarshalWire(d *Decoder) {
	m.Group, m.Round, m.Incarnation = d.Group(), d.Uvarint(), d.Uvarint()
	if n := d.Count(MaxBundles, 4); n > 0 {
		m.Bundles = make([]Bundle, n)
		for i := range m.Bundles {
			m.Bundles[i] = Bundle{Index: d.bundleIndex(), Resources: d.ResourcesNonNeg()}
		}
	}
}

func (d *Decoder) bundleIndex() uint32 {
	v := d.Uvarint()
	if d.err == nil && v >= MaxBundles {
		d.Fail(fmt.Errorf("%w: bundle index %d", ErrTooLarge, v))
		return 0
	}
	return uint32(v)
}

func (m *BundlePrepared) MarshalWire(e *Encoder) {
	e.Group(m.Group)
	e.Uvarint(m.Round)
	e.Uvarint(m.Incarnation)
	e.Bool(m.OK)
}
func (m *BundlePrepared) UnmarshalWire(d *Decoder) {
	m.Group, m.Round, m.Incarnation, m.OK = d.Group(), d.Uvarint(), d.Uvarint(), d.Bool()
}

func (m *BundleCommit) MarshalWire(e *Encoder)   { e.Group(m.Group); e.Uvarint(m.Round) }
func (m *BundleCommit) UnmarshalWire(d *Decoder) { m.Group, m.Round = d.Group(), d.Uvarint() }

func (m *BundleRelease) MarshalWire(e *Encoder) {
	e.Group(m.Group)
	e.Uvarint(uint64(len(m.Indices)))
	for _, i := range m.Indices {
		e.Uvarint(uint64(i))
	}
}
func (m *BundleRelease) UnmarshalWire(d *Decoder) {
	m.Group = d.Group()
	if n := d.Count(MaxBundles, 1); n > 0 {
		m.Indices = make([]uint32, n)
		for i := range m.Indices {
			m.Indices[i] = d.bundleIndex()
		}
	}
}

func init() {
	register(KindGroupCreate, func() Message { return new(GroupCreate) })
	register(KindGroupRemove, func() Message { return new(GroupRemove) })
	register(KindGroupState, func() Message { return new(GroupState) })
	register(KindBundlePrepare, func() Message { return new(BundlePrepare) })
	register(KindBundlePrepared, func() Message { return new(BundlePrepared) })
	register(KindBundleCommit, func() Message { return new(BundleCommit) })
	register(KindBundleRelease, func() Message { return new(BundleRelease) })
	register(KindGroupWatch, func() Message { return new(GroupWatch) })
	register(KindGroupLookup, func() Message { return new(GroupLookup) })
	register(KindGroupFound, func() Message { return new(GroupFound) })
}
