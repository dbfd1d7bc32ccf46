package scenarios

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Marshal writes the scenario as canonical YAML that decodes back to an
// equal Scenario: every default spelled out, node groups as written, costs
// files folded in, faults in time order, and --set overrides applied. Use it
// to save a generated or shrunk scenario as a file.
func (s *Scenario) Marshal() ([]byte, error) {
	root := mapping()
	add(root, "name", str(s.Name))
	add(root, "seed", num(strconv.FormatInt(s.Seed, 10)))
	if s.Description != "" {
		add(root, "description", str(s.Description))
	}
	add(root, "duration_limit", dur(s.DurationLimit))
	add(root, "cluster", s.Cluster.node())
	wl := seq(false)
	for _, w := range s.Workload {
		wl.Content = append(wl.Content, w.node())
	}
	add(root, "workload", wl)
	if len(s.Faults) > 0 {
		fl := seq(false)
		for _, f := range s.Faults {
			fl.Content = append(fl.Content, f.node())
		}
		add(root, "faults", fl)
	}
	if e := s.Expect.node(); len(e.Content) > 0 {
		add(root, "expect", e)
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func flowMap() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
}
func seq(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}
func add(m *yaml.Node, key string, v *yaml.Node) { m.Content = append(m.Content, str(key), v) }
func str(s string) *yaml.Node                    { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
func num(s string) *yaml.Node                    { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
func float(f float64) *yaml.Node                 { return num(strconv.FormatFloat(f, 'g', -1, 64)) }
func boolean(b bool) *yaml.Node                  { return num(strconv.FormatBool(b)) }
func dur(d time.Duration) *yaml.Node {
	return str(strings.ReplaceAll(FormatDuration(d), "µs", "us"))
}
func strs(list []string) *yaml.Node {
	n := seq(true)
	for _, s := range list {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func resourcesNode(m map[string]float64) *yaml.Node {
	n := flowMap()
	for _, k := range sortedKeys(m) {
		add(n, k, float(m[k]))
	}
	return n
}

func distNode(d Dist, format func(float64) *yaml.Node) *yaml.Node {
	if d.Kind == Constant || d.Kind == "" {
		return format(d.Mean)
	}
	n := flowMap()
	add(n, "dist", str(d.Kind))
	switch d.Kind {
	case Uniform:
		add(n, "min", format(d.Min))
		add(n, "max", format(d.Max))
		return n
	case Normal, LogNormal:
		add(n, "mean", format(d.Mean))
		add(n, "stddev", format(d.Stddev))
	case Exponential:
		add(n, "mean", format(d.Mean))
	}
	if d.Min != 0 {
		add(n, "min", format(d.Min))
	}
	if d.Max != 0 {
		add(n, "max", format(d.Max))
	}
	return n
}

func durDistNode(d DurationDist) *yaml.Node {
	return distNode(d.Dist, func(f float64) *yaml.Node { return dur(time.Duration(f)) })
}

func sizeDistNode(d SizeDist) *yaml.Node {
	return distNode(d.Dist, func(f float64) *yaml.Node { return str(FormatSize(int64(f))) })
}

func (c *Cluster) node() *yaml.Node {
	n := mapping()
	groups := seq(false)
	for _, g := range c.Groups {
		gn := mapping()
		add(gn, "name", str(g.Name))
		add(gn, "count", num(strconv.Itoa(g.Count)))
		add(gn, "cpus", float(g.CPUs))
		add(gn, "gpus", float(g.GPUs))
		if len(g.Resources) > 0 {
			add(gn, "resources", resourcesNode(g.Resources))
		}
		add(gn, "object_store", str(FormatSize(g.ObjectStoreBytes)))
		if g.ObjectSpillBytes > 0 { // absent: no tier (files without one stay as they were)
			add(gn, "object_spill", str(FormatSize(g.ObjectSpillBytes)))
		}
		if g.Start > 0 { // absent: with the cluster
			add(gn, "start", str(FormatDuration(g.Start)))
		}
		if a := g.Autoscale; a != nil {
			an := mapping()
			add(an, "min", num(strconv.Itoa(a.Min)))
			add(an, "boot", str(FormatDuration(a.Boot)))
			add(an, "idle_timeout", str(FormatDuration(a.IdleTimeout)))
			add(gn, "autoscale", an)
		}
		groups.Content = append(groups.Content, gn)
	}
	add(n, "nodes", groups)

	nw := mapping()
	l := Link{Latency: &c.Network.Latency, Jitter: &c.Network.Jitter, Bandwidth: &c.Network.Bandwidth,
		Loss: &c.Network.Loss, Duplicate: &c.Network.Duplicate, Reorder: &c.Network.Reorder}
	l.addFields(nw)
	if len(c.Network.Links) > 0 {
		links := seq(false)
		for _, l := range c.Network.Links {
			links.Content = append(links.Content, l.node())
		}
		add(nw, "links", links)
	}
	add(n, "network", nw)

	g := flowMap()
	add(g, "shards", num(strconv.Itoa(c.GCS.Shards)))
	add(g, "replicas", num(strconv.Itoa(c.GCS.Replicas)))
	add(n, "gcs", g)
	sc := flowMap()
	add(sc, "policy", str(c.Scheduler.Policy))
	add(sc, "spill_threshold", num(strconv.Itoa(c.Scheduler.SpillThreshold)))
	add(n, "scheduler", sc)
	costs := mapping()
	add(costs, "profile", str(c.Costs.Profile))
	for _, op := range CostOps {
		if v, ok := c.Costs.Overrides[op]; ok {
			add(costs, op, dur(v))
		}
	}
	add(n, "costs", costs)
	return n
}

func (l *Link) addFields(n *yaml.Node) {
	if l.Latency != nil {
		add(n, "latency", durDistNode(*l.Latency))
	}
	if l.Jitter != nil {
		add(n, "jitter", durDistNode(*l.Jitter))
	}
	if l.Bandwidth != nil {
		add(n, "bandwidth", str(FormatBandwidth(*l.Bandwidth)))
	}
	for _, p := range []struct {
		key string
		v   *float64
	}{{"loss", l.Loss}, {"duplicate", l.Duplicate}, {"reorder", l.Reorder}} {
		if p.v != nil {
			add(n, p.key, float(*p.v))
		}
	}
}

func (l *Link) node() *yaml.Node {
	n := flowMap()
	add(n, "from", str(l.From))
	add(n, "to", str(l.To))
	add(n, "symmetric", boolean(l.Symmetric))
	l.addFields(n)
	return n
}

func (w *Workload) node() *yaml.Node {
	n := mapping()
	add(n, "name", str(w.Name))
	add(n, "generator", str(w.Generator))
	if own, ok := w.Params.(*OwnParams); ok {
		p := mapping()
		for _, k := range sortedKeys(own.Values) {
			add(p, k, str(own.Values[k]))
		}
		add(n, "params", p)
	} else if w.Params != nil {
		p := mapping()
		for _, f := range w.Params.fields() {
			switch {
			case f.b != nil:
				add(p, f.name, boolean(*f.b))
			case f.i != nil:
				add(p, f.name, num(strconv.Itoa(*f.i)))
			case f.d != nil:
				add(p, f.name, durDistNode(*f.d))
			case f.s != nil:
				add(p, f.name, sizeDistNode(*f.s))
			}
		}
		add(n, "params", p)
	}
	a := flowMap()
	add(a, "kind", str(w.Arrival.Kind))
	if w.Arrival.Kind != Burst {
		add(a, "rate", str(FormatRate(w.Arrival.Rate)))
	}
	add(n, "arrival", a)
	if w.Drivers.PerNode {
		add(n, "drivers", str("per-node"))
	} else {
		add(n, "drivers", num(strconv.Itoa(w.Drivers.Count)))
	}
	add(n, "start", dur(w.Start))
	add(n, "resources", resourcesNode(w.Resources))
	add(n, "max_retries", num(strconv.Itoa(w.MaxRetries)))
	if w.RetryExceptions {
		add(n, "retry_exceptions", boolean(true))
	}
	if g := w.Group; g != nil {
		gn := flowMap()
		add(gn, "bundles", num(strconv.Itoa(g.Bundles)))
		add(gn, "strategy", str(g.Strategy))
		if g.CaptureChildTasks {
			add(gn, "capture_child_tasks", boolean(true))
		}
		add(n, "placement_group", gn)
	}
	return n
}

func (f *Fault) node() *yaml.Node {
	n := mapping()
	if f.Kind != Random {
		add(n, "at", dur(f.At))
	}
	switch f.Kind {
	case KillNode, RestartNode, PauseNode:
		add(n, f.Kind, str(f.Node))
	case Partition:
		groups := seq(true)
		for _, g := range f.Groups {
			groups.Content = append(groups.Content, strs(g))
		}
		add(n, f.Kind, groups)
	case Heal:
		add(n, f.Kind, boolean(true))
	case DegradeLink:
		add(n, f.Kind, f.Link.node())
	case SkewClock:
		sk := flowMap()
		add(sk, "node", str(f.Node))
		add(sk, "offset", dur(f.Offset))
		add(n, f.Kind, sk)
	case KillGCSReplica, RestartGCSReplica:
		add(n, f.Kind, num(strconv.Itoa(f.Replica)))
	case KillActor:
		if f.Actor != "" {
			add(n, f.Kind, str(f.Actor))
		} else {
			add(n, f.Kind, num(strconv.Itoa(f.ActorIndex)))
		}
	case TaskErrors:
		te := flowMap()
		add(te, "rate", float(f.Errors.Rate))
		if len(f.Errors.Nodes) > 0 {
			add(te, "nodes", strs(f.Errors.Nodes))
		}
		add(n, f.Kind, te)
	case Random:
		r := f.Random
		rn := mapping()
		add(rn, "kind", str(r.Kind))
		add(rn, "rate", str(FormatRate(r.Rate)))
		add(rn, "from", dur(r.From))
		add(rn, "until", dur(r.Until))
		switch r.Kind {
		case RandomCrash:
			add(rn, "restart_after", dur(r.RestartAfter))
		case RandomLoss:
			add(rn, "for", dur(r.For))
			add(rn, "loss", float(r.Loss))
		default:
			add(rn, "for", dur(r.For))
		}
		if len(r.Nodes) > 0 {
			add(rn, "nodes", strs(r.Nodes))
		}
		add(n, f.Kind, rn)
	}
	if f.For != 0 {
		add(n, "for", dur(f.For))
	}
	return n
}

func (e *Expect) node() *yaml.Node {
	n := mapping()
	for _, b := range []struct {
		key string
		v   bool
	}{{"all_complete", e.AllComplete}, {"results_correct", e.ResultsCorrect}, {"no_lost_objects", e.NoLostObjects}} {
		if b.v {
			add(n, b.key, boolean(true))
		}
	}
	if e.MaxFailedTasks != nil {
		add(n, "max_failed_tasks", num(strconv.Itoa(*e.MaxFailedTasks)))
	}
	lat := flowMap()
	for _, b := range []struct {
		key string
		v   time.Duration
	}{{"p50", e.Latency.P50}, {"p90", e.Latency.P90}, {"p99", e.Latency.P99}, {"max", e.Latency.Max}} {
		if b.v != 0 {
			add(lat, b.key, dur(b.v))
		}
	}
	if len(lat.Content) > 0 {
		add(n, "latency", lat)
	}
	if e.Throughput.Min != 0 {
		tp := flowMap()
		add(tp, "min", float(e.Throughput.Min))
		add(n, "throughput", tp)
	}
	if e.FinishBy != 0 {
		add(n, "finish_by", dur(e.FinishBy))
	}
	if len(e.Invariants) > 0 {
		l := seq(true)
		for _, name := range e.Invariants {
			l.Content = append(l.Content, str(name))
		}
		add(n, "invariants", l)
	}
	return n
}
