package scenarios

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// workload decodes one workload entry; limit is the scenario's
// duration_limit, which its start must precede.
func (d *decoder) workload(n *yaml.Node, path string, index int, limit time.Duration) Workload {
	w := Workload{
		Arrival:    Arrival{Kind: Burst},
		Drivers:    Drivers{Count: 1},
		Resources:  map[string]float64{"CPU": 1},
		MaxRetries: DefaultMaxRetries,
	}
	o := d.object(n, path, "name", "generator", "params", "arrival", "drivers", "start", "resources", "max_retries", "retry_exceptions", "placement_group")
	if n == nil || n.Kind != yaml.MappingNode {
		return w
	}
	if v := o.get("generator"); v == nil {
		d.missing(n, o.at("generator"), "a generator: one of "+strings.Join(d.ext.GeneratorNames(), ", "))
	} else if g, ok := d.scalar(v, o.at("generator"), "a generator name"); ok {
		if w.Params = d.ext.NewParams(g); w.Params == nil {
			d.expected(v, o.at("generator"), "one of "+strings.Join(d.ext.GeneratorNames(), ", "))
		} else {
			w.Generator = g
		}
	}
	w.Name = fmt.Sprintf("%s-%d", w.Generator, index)
	if v := o.get("name"); v != nil {
		w.Name = d.str(v, o.at("name"), "a workload name")
	}
	// The integer params given (their value nodes and paths), for the work
	// bound to name an override that made the count too large.
	type intParam struct {
		i    *int
		v    *yaml.Node
		path string
	}
	var ints []intParam
	if own, ok := w.Params.(*OwnParams); ok {
		// An own workload's params: the names it declares, values kept
		// as written (scalars) for its driver to parse.
		names := d.ext.Workload(own.generator).Params
		po := d.object(o.get("params"), o.at("params"), names...)
		for _, name := range names {
			if v := po.get(name); v != nil {
				if x, ok := d.scalar(v, po.at(name), "a value (a scalar)"); ok {
					own.Values[name] = x
				}
			}
		}
	} else if w.Params != nil {
		fields := w.Params.fields()
		var names []string
		for _, f := range fields {
			names = append(names, f.name)
		}
		po := d.object(o.get("params"), o.at("params"), names...)
		for _, f := range fields {
			v := po.get(f.name)
			if v == nil {
				continue
			}
			p := po.at(f.name)
			switch {
			case f.b != nil:
				if x, ok := d.boolean(v, p); ok {
					*f.b = x
				}
			case f.i != nil:
				if x, ok := d.integer(v, p, f.imin); ok {
					*f.i = x
					ints = append(ints, intParam{f.i, v, p})
				}
			case f.d != nil:
				if x, ok := d.durDist(v, p); ok {
					*f.d = x
				}
			case f.s != nil:
				if x, ok := d.sizeDist(v, p); ok {
					*f.s = x
				}
			}
		}
		if mr, ok := w.Params.(*MapReduceParams); ok && mr.Returns && mr.Stream {
			d.errAt(po.get("stream"), po.at("stream"), "false beside returns: true (a map returns its partitions or streams them, not both)")
		}
		if rl, ok := w.Params.(*RLParams); ok && rl.MaxConcurrency > 1 && (rl.CheckpointEvery > 0 || rl.Replay) {
			d.errAt(po.get("max_concurrency"), po.at("max_concurrency"), fmt.Sprintf(
				"1 beside checkpoint_every or replay: their logs assume one rollout at a time (got %d)", rl.MaxConcurrency))
		}
	}
	rateAt := d.arrival(o.get("arrival"), o.at("arrival"), &w.Arrival)
	if _, own := w.Params.(*OwnParams); own && w.Arrival.Kind != Burst {
		// Its driver submits as it likes: no stream for an arrival to space.
		d.errAt(o.get("arrival"), o.at("arrival"), fmt.Sprintf("burst: %s is a workload of the program's own, whose driver submits as it likes (got kind: %s)", w.Generator, w.Arrival.Kind))
		rateAt = nil
	}
	if w.Arrival.Kind != Burst && !TakesArrival(w.Generator) && w.Generator != "" {
		// Its drivers make their actors and run at once: no stream of
		// root tasks for an arrival to space.
		d.errAt(o.get("arrival"), o.at("arrival"), fmt.Sprintf("burst: %s has no stream of root tasks for an arrival to space (got kind: %s)", w.Generator, w.Arrival.Kind))
		rateAt = nil
	}
	driversAt, driversOK := o.get("drivers"), true
	if v := driversAt; v != nil {
		if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == "per-node" {
			w.Drivers = Drivers{PerNode: true}
		} else if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
			w.Drivers.Count, driversOK = d.integer(v, o.at("drivers"), 1)
		} else {
			d.expected(v, o.at("drivers"), "a number of drivers >= 1, or per-node")
			driversOK = false
		}
	}
	drivers := float64(w.Drivers.Count)
	if w.Drivers.PerNode {
		drivers = float64(max(len(d.nodes), 1))
	}
	workOK := true
	if w.Params != nil {
		formula, work := w.Params.work()
		// A count the drivers split is made once in all; an instance
		// per driver is made drivers times.
		_, split := Split(w.Params)
		perDriver := drivers > 1 && !split
		if perDriver {
			formula, work = fmt.Sprintf("(%s)*%g drivers", formula, drivers), work*drivers
		}
		if work > MaxWork {
			workOK = false
			at, where := o.get("params"), o.at("params")
			if at == nil {
				at, where = n, path
			}
			// Errors from overrides name the override: the params mapping
			// is the file's, but a value the count depends on came from
			// --set, the count is reported there.
			if _, set := d.origin[at]; !set {
				picked := false
				for _, p := range ints {
					if _, set := d.origin[p.v]; set && dependsOn(w.Params, p.i) {
						at, where, picked = p.v, p.path, true
						break
					}
				}
				if _, set := d.origin[driversAt]; set && !picked && perDriver {
					at, where = driversAt, o.at("drivers")
				}
			}
			msg := fmt.Sprintf("at most 1e8 tasks, calls and objects in all (%s = %s)", formula, countText(work))
			if m := deref(at); m != nil && m.Kind == yaml.MappingNode {
				d.errAt(at, where, msg) // the whole mapping: its "(got a mapping)" says nothing
			} else {
				d.expected(at, where, msg)
			}
		}
	}
	// Drivers are bounded by themselves too: with no work (tasks: 0) the
	// bound above takes any number of them.
	if driversOK && workOK && !w.Drivers.PerNode && w.Drivers.Count > MaxDrivers {
		d.expected(driversAt, o.at("drivers"), fmt.Sprintf("at most %d drivers", MaxDrivers))
		driversOK = false
	}
	// Each driver's arrivals are rate/drivers apart: that gap must fit a
	// duration.
	if rateAt != nil && driversOK && w.Arrival.Kind != Burst && w.Arrival.Rate > 0 && w.Arrival.Rate/drivers < MinRate {
		want := fmt.Sprintf("a rate of at least %s, one arrival in ~32 years (the gap 1/rate must fit a duration)", FormatRate(MinRate))
		if drivers > 1 {
			want = fmt.Sprintf("a rate of at least %s, %s for each of the %g drivers, one arrival in ~32 years (the gap drivers/rate must fit a duration)",
				FormatRate(MinRate*drivers), FormatRate(MinRate), drivers)
		}
		d.expected(rateAt, o.at("arrival")+".rate", want)
	}
	if v := o.get("start"); v != nil {
		var sok bool
		if w.Start, sok = d.duration(v, o.at("start"), false); sok && w.Start >= limit && !d.limitUnknown {
			d.expectedBy(v, o.at("start"), fmt.Sprintf("a time before duration_limit %s", FormatDuration(limit)), d.limitAt)
		}
	}
	// Some node must meet the demand, the default {CPU: 1} as much as a
	// written one (reported at the entry then).
	demandAt, byDefault := o.get("resources"), false
	if demandAt != nil {
		w.Resources = d.resources(demandAt, o.at("resources"), nil, "")
		if w.Resources != nil && len(w.Resources) == 0 {
			// {} replaces the default with nothing: said as {CPU: 0}, as
			// the runtime reads no resources at all as its default CPU 1.
			w.Resources = map[string]float64{"CPU": 0}
		}
	} else {
		demandAt, byDefault = n, true
	}
	if len(w.Resources) > 0 && !d.feasible(w.Resources) {
		var parts []string
		for _, k := range sortedKeys(w.Resources) {
			parts = append(parts, fmt.Sprintf("%s: %g", k, w.Resources[k]))
		}
		got := strings.Join(parts, ", ")
		if byDefault {
			got += ", the default when resources is not given"
		}
		d.errAt(demandAt, o.at("resources"), fmt.Sprintf("a demand that at least one node can meet (got %s; no node has that much)", got))
	}
	if v := o.get("max_retries"); v != nil {
		var ok bool
		if w.MaxRetries, ok = d.integer(v, o.at("max_retries"), -1); ok && w.MaxRetries > math.MaxInt32 { // -1: without bound, as Ray
			d.expected(v, o.at("max_retries"), fmt.Sprintf("an integer from -1 to %d", math.MaxInt32))
		}
	}
	if v := o.get("retry_exceptions"); v != nil {
		w.RetryExceptions, _ = d.boolean(v, o.at("retry_exceptions"))
	}
	if v := o.get("placement_group"); v != nil {
		w.Group = d.group(v, o.at("placement_group"), &w)
	}
	return w
}

// group decodes a workload entry's placement_group, {bundles, strategy,
// capture_child_tasks}, and checks that one group of bundles of the
// entry's demand can be placed on the cluster (or it would wait for good)
// and, capturing a nested entry's children, holds all of a driver's tasks
// at once (or they could deadlock).
func (d *decoder) group(n *yaml.Node, path string, w *Workload) *GroupSpec {
	o := d.object(n, path, "bundles", "strategy", "capture_child_tasks")
	if n.Kind != yaml.MappingNode {
		return nil
	}
	g := &GroupSpec{Strategy: "PACK"}
	ok := true
	if v := o.get("bundles"); v == nil {
		d.missing(n, o.at("bundles"), "a number of bundles like bundles: 4")
		ok = false
	} else if g.Bundles, ok = d.integer(v, o.at("bundles"), 1); ok && g.Bundles > MaxGroupBundles {
		d.expected(v, o.at("bundles"), fmt.Sprintf("at most %d bundles", MaxGroupBundles))
		ok = false
	}
	if v := o.get("strategy"); v != nil {
		if st, sok := d.scalar(v, o.at("strategy"), "a strategy"); !sok || !contains(GroupStrategies, st) {
			d.expected(v, o.at("strategy"), "one of "+strings.Join(GroupStrategies, ", "))
			ok = false
		} else {
			g.Strategy = st
		}
	}
	if v := o.get("capture_child_tasks"); v != nil {
		var bok bool
		if g.CaptureChildTasks, bok = d.boolean(v, o.at("capture_child_tasks")); !bok {
			ok = false
		}
	}
	need := 0
	if g.CaptureChildTasks {
		need = d.capturedTasks(w)
	}
	_, own := w.Params.(*OwnParams)
	switch {
	case own:
		d.errAt(n, path, fmt.Sprintf("a built-in generator's entry (%s is a workload of the program's own: its driver makes its own groups)", w.Generator))
		ok = false
	case !TakesArrival(w.Generator) && w.Generator != "":
		d.errAt(n, path, fmt.Sprintf("a placement group for a task generator's entry (%s makes actors, which would hold its bundles for good)", w.Generator))
		ok = false
	case zeroDemand(w.Resources):
		d.errAt(n, path, "an entry whose resources ask for something: a bundle of nothing is no bundle")
		ok = false
	case ok && g.Bundles < need:
		d.errAt(n, path, fmt.Sprintf("at least %d bundles with capture_child_tasks: each driver's nested trees may hold up to %d tasks at once, and a task waiting for its children keeps its bundle (as in Ray), so fewer bundles could deadlock", need, need))
		ok = false
	case ok && !d.groupFits(w.Resources, g):
		d.errAt(n, path, fmt.Sprintf("a group the cluster can place: %d bundles of the entry's resources, %s (no such placement: the group would wait for good)", g.Bundles, g.Strategy))
		ok = false
	}
	if !ok {
		return nil
	}
	return g
}

// capturedTasks is how many tasks one driver of a nested entry may have
// alive at once (its share of the roots, each a tree of up to 2*fanout
// children a task over depth levels), saturated past MaxGroupBundles; 0
// for other generators, whose tasks submit none, or when the drivers'
// number is not known (a per-node entry on a cluster with errors).
func (d *decoder) capturedTasks(w *Workload) int {
	p, ok := w.Params.(*NestedParams)
	if !ok {
		return 0
	}
	drivers := w.Drivers.Count
	if w.Drivers.PerNode {
		if d.resourcesUnknown || len(d.uncounted) > 0 {
			return 0
		}
		drivers = len(d.cl.Nodes)
	}
	return CapturedNestedTasks(p, drivers)
}

// CapturedNestedTasks is how many tasks one of drivers drivers of a
// nested entry of params p may have alive at once: its largest share of
// the roots times the largest tree (up to 2*fanout children a task, over
// depth levels), saturated past MaxGroupBundles. A placement group that
// captures the entry's children needs that many bundles: every task
// waiting for its children keeps its bundle.
func CapturedNestedTasks(p *NestedParams, drivers int) int {
	if drivers <= 0 || p.Roots <= 0 {
		return 0
	}
	share := (p.Roots + drivers - 1) / drivers
	tree, level := 0, 1
	for i := 0; i < p.Depth && tree <= MaxGroupBundles; i++ {
		tree += level
		level = min(level*2*p.Fanout, MaxGroupBundles+1)
	}
	return min(share*min(tree, MaxGroupBundles+1), MaxGroupBundles+1)
}

// MaxGroupBundles bounds a workload entry's placement group.
const MaxGroupBundles = 10000

func zeroDemand(demand map[string]float64) bool {
	for _, v := range demand {
		if v > 0 {
			return false
		}
	}
	return true
}

// groupFits reports whether g's bundles of demand can be placed on the
// cluster's nodes as its strategy asks (true when the cluster is not known
// well enough to say: its errors are reported already).
func (d *decoder) groupFits(demand map[string]float64, g *GroupSpec) bool {
	if d.resourcesUnknown || len(d.uncounted) > 0 || len(d.cl.Nodes) == 0 {
		return true
	}
	keys := sortedKeys(demand)
	total, able, most := 0, 0, 0
	for _, n := range d.cl.Nodes {
		fit := g.Bundles // how many bundles the node holds (at most all)
		for _, k := range keys {
			need, have := demand[k], n.Resources[k]
			switch k {
			case "CPU":
				have = n.CPUs
			case "GPU":
				have = n.GPUs
			}
			if need > 0 {
				fit = min(fit, int(math.Floor(have/need+1e-9)))
			}
		}
		total += fit
		most = max(most, fit)
		if fit > 0 {
			able++
		}
	}
	switch g.Strategy {
	case "STRICT_PACK":
		return most >= g.Bundles
	case "STRICT_SPREAD":
		return able >= g.Bundles
	}
	return total >= g.Bundles
}

// TakesArrival reports whether a generator submits a stream of root tasks
// an arrival spaces (rl and parameter-server run their actors at once:
// burst only).
func TakesArrival(generator string) bool {
	return generator != "rl" && generator != "parameter-server"
}

// feasible reports whether some node has every demanded resource.
func (d *decoder) feasible(demand map[string]float64) bool {
	if d.resourcesUnknown || (len(d.cl.Nodes) == 0 && len(d.uncounted) == 0) {
		return true // a cluster error is reported already
	}
	keys := make([]string, 0, len(demand))
	for k := range demand {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, n := range append(d.cl.Nodes[:len(d.cl.Nodes):len(d.cl.Nodes)], d.uncounted...) {
		ok := true
		for _, k := range keys {
			have := n.Resources[k]
			switch k {
			case "CPU":
				have = n.CPUs
			case "GPU":
				have = n.GPUs
			}
			if have < demand[k] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// arrival decodes an arrival into a; it returns the rate's node if the
// rate was read.
func (d *decoder) arrival(n *yaml.Node, path string, a *Arrival) *yaml.Node {
	kinds := []string{Burst, Steady, Poisson}
	if n != nil && n.Kind == yaml.ScalarNode {
		k, _ := d.scalar(n, path, "an arrival kind")
		if k != Burst {
			d.expected(n, path, "burst, or a mapping {kind: rate|poisson, rate: 100/s}")
		}
		return nil
	}
	o := d.object(n, path, "kind", "rate")
	if v := o.get("kind"); v != nil {
		k, _ := d.scalar(v, o.at("kind"), "an arrival kind")
		if contains(kinds, k) {
			a.Kind = k
		} else {
			d.expected(v, o.at("kind"), "one of "+strings.Join(kinds, ", "))
			return nil
		}
	}
	v := o.get("rate")
	switch {
	case a.Kind == Burst && v != nil:
		d.errAt(o.keys["rate"], o.at("rate"), "no rate for a burst arrival; expected kind: rate or poisson (got kind: burst)")
	case a.Kind != Burst && v == nil:
		d.missing(n, o.at("rate"), "a rate like 1000/s for a "+a.Kind+" arrival")
	case v != nil:
		var ok bool
		if a.Rate, ok = d.rate(v, o.at("rate")); ok {
			return v
		}
	}
	return nil
}

// ---- faults

var actionKeys = FaultKinds

func (d *decoder) fault(n *yaml.Node, path string, s *Scenario) (Fault, bool) {
	f := Fault{ActorIndex: -1}
	if n != nil {
		f.Line = n.Line
	}
	o := d.object(n, path, append([]string{"at", "for"}, actionKeys...)...)
	if n == nil || n.Kind != yaml.MappingNode {
		return f, false
	}
	var actions []string
	for _, k := range actionKeys {
		if _, ok := o.vals[k]; ok {
			actions = append(actions, k)
		}
	}
	if len(actions) == 0 {
		d.missing(n, path, "one action: "+strings.Join(actionKeys, ", "))
		return f, false
	}
	// Report extra actions at their keys, in file order.
	sort.Slice(actions, func(i, j int) bool {
		a, b := o.keys[actions[i]], o.keys[actions[j]]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	if len(actions) > 1 {
		for _, k := range actions[1:] {
			d.errAt(o.keys[k], o.at(k), fmt.Sprintf("one action per entry (got %s as well as %s)", k, actions[0]))
		}
		return f, false
	}
	f.Kind = actions[0]
	ok := true
	if f.Kind == Random {
		if _, has := o.vals["at"]; has {
			d.errAt(o.keys["at"], o.at("at"), "no at for a random fault; it runs from random.from to random.until (got at)")
			ok = false
		}
	} else if v := o.get("at"); v == nil {
		d.missing(n, o.at("at"), "a time like at: 300ms")
		ok = false
	} else if f.At, ok = d.duration(v, o.at("at"), false); ok && f.At > s.DurationLimit && !d.limitUnknown {
		d.expectedBy(v, o.at("at"), fmt.Sprintf("a time within duration_limit %s", FormatDuration(s.DurationLimit)), d.limitAt)
		ok = false
	}
	takesFor := f.Kind == Partition || f.Kind == DegradeLink || f.Kind == PauseNode || f.Kind == TaskErrors
	if v, has := o.vals["for"]; has {
		if !takesFor {
			d.errAt(o.keys["for"], o.at("for"), fmt.Sprintf("for only with partition, degrade_link, pause_node or task_errors (got for with %s)", f.Kind))
			ok = false
		} else if f.For, ok = d.positive(v, o.at("for")); !ok {
			ok = false
		}
	} else if f.Kind == PauseNode {
		d.missing(n, o.at("for"), "a pause length like for: 200ms")
		ok = false
	}
	v := o.get(f.Kind)
	ap := o.at(f.Kind)
	if v == nil && f.Kind != Heal {
		d.expected(o.vals[f.Kind], ap, "a value for "+f.Kind)
		return f, false
	}
	var aok bool
	switch f.Kind {
	case KillNode, RestartNode, PauseNode:
		f.Node, aok = d.node(v, ap)
	case Partition:
		f.Groups, aok = d.partition(v, ap)
	case Heal:
		var b bool
		if b, aok = d.boolean(o.vals[Heal], ap); aok && !b {
			d.expected(o.vals[Heal], ap, "true (leave the entry out to not heal)")
			aok = false
		}
	case DegradeLink:
		lo := d.object(v, ap, append(linkKeys, "from", "to", "symmetric")...)
		if v.Kind == yaml.MappingNode {
			var l Link
			l, aok = d.link(lo, v)
			if l.Latency == nil && l.Jitter == nil && l.Bandwidth == nil && l.Loss == nil && l.Duplicate == nil && l.Reorder == nil {
				d.expected(v, ap, "at least one of "+strings.Join(linkKeys, ", "))
				aok = false
			}
			f.Link = &l
		}
	case SkewClock:
		so := d.object(v, ap, "node", "offset")
		if v.Kind == yaml.MappingNode {
			aok = true
			if nv := so.get("node"); nv == nil {
				d.missing(v, so.at("node"), "a node name")
				aok = false
			} else if f.Node, ok = d.node(nv, so.at("node")); !ok {
				aok = false
			}
			if ov := so.get("offset"); ov == nil {
				d.missing(v, so.at("offset"), "a clock offset like 50ms or -50ms")
				aok = false
			} else if f.Offset, ok = d.duration(ov, so.at("offset"), true); !ok {
				aok = false
			}
		}
	case KillGCSReplica, RestartGCSReplica:
		total := s.Cluster.GCS.Shards * s.Cluster.GCS.Replicas
		var x int
		if x, aok = d.integer(v, ap, 0); aok && x >= total && !d.gcsUnknown {
			d.expected(v, ap, fmt.Sprintf("a replica index in [0, %d) (gcs shards*replicas = %d*%d)", total, s.Cluster.GCS.Shards, s.Cluster.GCS.Replicas))
			aok = false
		}
		f.Replica = x
	case KillActor:
		if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
			f.ActorIndex, aok = d.integer(v, ap, 0)
		} else {
			f.Actor = d.str(v, ap, "an actor name or index")
			aok = f.Actor != ""
		}
	case TaskErrors:
		f.Errors, aok = d.taskErrors(v, ap)
	case Random:
		f.Random, aok = d.random(v, ap, s)
		if aok {
			f.At = f.Random.From
		}
	}
	return f, ok && aok
}

func (d *decoder) partition(n *yaml.Node, path string) ([][]string, bool) {
	groups := d.list(n, path, "a group of node names")
	if n.Kind != yaml.SequenceNode {
		return nil, false
	}
	if len(groups) < 2 {
		d.errAt(n, path, fmt.Sprintf("at least two groups, like [[a, b], [c]] (got %d group)", len(groups)))
		return nil, false
	}
	ok := true
	seen := map[string]int{}
	var out [][]string
	for i, g := range groups {
		gp := fmt.Sprintf("%s.%d", path, i)
		names := d.list(g, gp, "a node name")
		if g.Kind == yaml.SequenceNode && len(names) == 0 {
			d.expected(g, gp, "a non-empty group of node names")
			ok = false
		}
		if g.Kind != yaml.SequenceNode {
			ok = false
		}
		var members []string
		for j, nn := range names {
			np := fmt.Sprintf("%s.%d", gp, j)
			if isNull(nn) { // d.list reported it: no follow-on
				ok = false
				continue
			}
			nodes, rok := d.endpoints(nn, np)
			if !rok {
				ok = false
				continue
			}
			for _, m := range nodes {
				if prev, dup := seen[m]; dup {
					d.expected(nn, np, fmt.Sprintf("disjoint groups; node %s is already in group %d", m, prev))
					ok = false
					continue
				}
				seen[m] = i
				members = append(members, m)
			}
		}
		out = append(out, members)
	}
	return out, ok
}

func (d *decoder) random(n *yaml.Node, path string, s *Scenario) (*RandomFaults, bool) {
	r := &RandomFaults{RestartAfter: 200_000_000, For: 200_000_000, Loss: 0.5, Until: s.DurationLimit}
	o := d.object(n, path, "kind", "rate", "from", "until", "restart_after", "for", "loss", "nodes")
	if n.Kind != yaml.MappingNode {
		return nil, false
	}
	kinds := []string{RandomCrash, RandomPartition, RandomPause, RandomLoss}
	ok := true
	if v := o.get("kind"); v == nil {
		d.missing(n, o.at("kind"), "one of "+strings.Join(kinds, ", "))
		ok = false
	} else if k, _ := d.scalar(v, o.at("kind"), "a kind"); !contains(kinds, k) {
		d.expected(v, o.at("kind"), "one of "+strings.Join(kinds, ", "))
		ok = false
	} else {
		r.Kind = k
	}
	rateNode := o.get("rate")
	rateOK := false
	if rateNode == nil {
		d.missing(n, o.at("rate"), "a rate like 0.5/s")
		ok = false
	} else if r.Rate, rateOK = d.rate(rateNode, o.at("rate")); !rateOK {
		ok = false
	} else if r.Rate < MinRate {
		d.expected(rateNode, o.at("rate"), fmt.Sprintf("a rate of at least %s, one fault in ~32 years (the mean gap 1/rate must fit a duration)", FormatRate(MinRate)))
		ok, rateOK = false, false
	}
	var tok bool
	windowOK := rateOK && (!d.limitUnknown || o.has("until"))
	if v := o.get("from"); v != nil {
		if r.From, tok = d.duration(v, o.at("from"), false); !tok {
			ok, windowOK = false, false
		} else if r.From >= s.DurationLimit && !d.limitUnknown && !o.has("until") {
			// until defaults to duration_limit: a window from past it
			// would inject nothing, silently.
			d.expectedBy(v, o.at("from"), fmt.Sprintf("a time before duration_limit %s", FormatDuration(s.DurationLimit)), d.limitAt)
			ok, windowOK = false, false
		}
	}
	if v := o.get("until"); v != nil {
		if r.Until, tok = d.duration(v, o.at("until"), false); !tok {
			ok, windowOK = false, false
		} else if r.Until <= r.From {
			d.expected(v, o.at("until"), "a time after from")
			ok, windowOK = false, false
		} else if r.Until > s.DurationLimit && !d.limitUnknown {
			d.expectedBy(v, o.at("until"), fmt.Sprintf("a time within duration_limit %s", FormatDuration(s.DurationLimit)), d.limitAt)
			ok, windowOK = false, false
		}
	}
	// The runner draws every fault of the process before the run: their
	// number, rate*(until-from), is bounded as a workload's work is.
	if window := r.Until - r.From; windowOK && window > 0 && r.Rate*window.Seconds() > MaxRandomFaults {
		d.expected(rateNode, o.at("rate"), fmt.Sprintf("at most 1e6 faults expected from a random process (rate*(until-from) = %s*%s = %.3g)",
			FormatRate(r.Rate), FormatDuration(window), r.Rate*window.Seconds()))
		ok = false
	}
	only := map[string]string{"restart_after": RandomCrash, "for": "", "loss": RandomLoss}
	for _, key := range []string{"restart_after", "for", "loss"} {
		v, has := o.vals[key]
		if !has {
			continue
		}
		wantKind := only[key]
		if r.Kind != "" && ((wantKind != "" && r.Kind != wantKind) || (key == "for" && r.Kind == RandomCrash)) {
			applies := "kind " + wantKind
			if key == "for" {
				applies = "kinds partition, pause and loss"
			}
			d.errAt(o.keys[key], o.at(key), fmt.Sprintf("%s only for %s (got kind %s)", key, applies, r.Kind))
			ok = false
			continue
		}
		switch key {
		case "restart_after":
			r.RestartAfter, tok = d.duration(v, o.at(key), false)
		case "for":
			r.For, tok = d.positive(v, o.at(key))
		case "loss":
			r.Loss, tok = d.prob(v, o.at(key))
		}
		ok = ok && tok
	}
	var nok bool
	r.Nodes, nok = d.nodeNames(o)
	return r, ok && nok
}

// nodeNames decodes an object's optional nodes key: node or group names,
// resolved and without repeats; left out, it is every node (nil).
func (d *decoder) nodeNames(o *object) ([]string, bool) {
	ok := true
	if v := o.get("nodes"); v != nil && v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
		// Left out, nodes is every node: an empty list would be read so.
		d.expected(v, o.at("nodes"), "at least one node or group name (leave nodes out for every node)")
		ok = false
	}
	var out []string
	seen := map[string]bool{}
	for i, nn := range d.list(o.get("nodes"), o.at("nodes"), "a node name") {
		if isNull(nn) { // d.list reported it: no follow-on
			ok = false
			continue
		}
		nodes, rok := d.resolve(nn, fmt.Sprintf("%s.%d", o.at("nodes"), i))
		ok = ok && rok
		for _, m := range nodes {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out, ok
}

// taskErrors decodes a task_errors fault's value: {rate, nodes}.
func (d *decoder) taskErrors(n *yaml.Node, path string) (*TaskErrorRate, bool) {
	o := d.object(n, path, "rate", "nodes")
	if n.Kind != yaml.MappingNode {
		return nil, false
	}
	te := &TaskErrorRate{}
	ok := true
	if v := o.get("rate"); v == nil {
		d.missing(n, o.at("rate"), "a probability like 10% that a task's run fails")
		ok = false
	} else if te.Rate, ok = d.prob(v, o.at("rate")); ok && te.Rate == 0 {
		d.expected(v, o.at("rate"), "a probability above 0 (leave the fault out for none)")
		ok = false
	}
	var nok bool
	te.Nodes, nok = d.nodeNames(o)
	return te, ok && nok
}

// ---- expect

func (d *decoder) expect(n *yaml.Node, s *Scenario) {
	e := &s.Expect
	o := d.object(n, "expect", "all_complete", "results_correct", "no_lost_objects", "max_failed_tasks", "latency", "throughput", "finish_by", "invariants")
	for _, b := range []struct {
		key string
		dst *bool
	}{{"all_complete", &e.AllComplete}, {"results_correct", &e.ResultsCorrect}, {"no_lost_objects", &e.NoLostObjects}} {
		if v := o.get(b.key); v != nil {
			*b.dst, _ = d.boolean(v, o.at(b.key))
		}
	}
	if v := o.get("max_failed_tasks"); v != nil {
		if x, ok := d.integer(v, o.at("max_failed_tasks"), 0); ok {
			e.MaxFailedTasks = &x
		}
	}
	// An empty latency or throughput would check nothing, silently.
	for _, k := range []struct{ key, want string }{
		{"latency", "at least one bound: p50, p90, p99 or max"},
		{"throughput", "a bound: min"},
	} {
		if v := o.get(k.key); v != nil && v.Kind == yaml.MappingNode && len(v.Content) == 0 {
			d.expected(v, o.at(k.key), k.want+" (leave "+k.key+" out, or null, to check none)")
		}
	}
	lo := d.object(o.get("latency"), o.at("latency"), "p50", "p90", "p99", "max")
	lat := []struct {
		key string
		dst *int64
	}{{"p50", (*int64)(&e.Latency.P50)}, {"p90", (*int64)(&e.Latency.P90)}, {"p99", (*int64)(&e.Latency.P99)}, {"max", (*int64)(&e.Latency.Max)}}
	for _, b := range lat {
		if v := lo.get(b.key); v != nil {
			x, _ := d.positive(v, lo.at(b.key))
			*b.dst = int64(x)
		}
	}
	to := d.object(o.get("throughput"), o.at("throughput"), "min")
	if v := to.get("min"); v != nil {
		e.Throughput.Min, _ = d.rate(v, to.at("min"))
	}
	if v := o.get("finish_by"); v != nil {
		var ok bool
		if e.FinishBy, ok = d.positive(v, o.at("finish_by")); ok && e.FinishBy > s.DurationLimit && !d.limitUnknown {
			d.expectedBy(v, o.at("finish_by"), fmt.Sprintf("a time within duration_limit %s", FormatDuration(s.DurationLimit)), d.limitAt)
		}
	}
	want := "one of " + strings.Join(InvariantNames, ", ")
	for i, v := range d.list(o.get("invariants"), o.at("invariants"), want) {
		if isNull(v) { // d.list reported it
			continue
		}
		path := fmt.Sprintf("%s.%d", o.at("invariants"), i)
		name, ok := d.scalar(v, path, want)
		switch {
		case !ok:
		case !slices.Contains(InvariantNames, name):
			d.expected(v, path, want)
		case slices.Contains(e.Invariants, name):
			d.expected(v, path, "each invariant once")
		default:
			e.Invariants = append(e.Invariants, name)
		}
	}
}

// countText is a work count as the bound's error shows it: exact while it
// is a whole number a reader can compare with 1e8 (100000001, not the
// 1e+08 that %.3g rounds it to), else in three digits.
func countText(v float64) string {
	if v == math.Trunc(v) && v < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprintf("%.3g", v)
}
