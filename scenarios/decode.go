package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"raysim/runtime/costs"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

// Load reads and decodes the scenario file at path.
func Load(path string) (*Scenario, error) { return LoadWithOverrides(path, nil) }

// LoadWithOverrides reads the scenario file at path and applies --set
// overrides ("dotted.path=value") before decoding it.
func LoadWithOverrides(path string, sets []string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWithOverrides(path, data, sets)
}

// Parse decodes a scenario; name is the file name used in messages and the
// directory a costs profile path is relative to. A failure is an Errors.
func Parse(name string, data []byte) (*Scenario, error) { return ParseWithOverrides(name, data, nil) }

// ParseWithOverrides decodes a scenario after applying --set overrides, each
// "dotted.path=value", to its YAML tree in order. A path walks mapping keys
// and list indices ("workload.0.params.tasks", "cluster.nodes.1.count"); a
// missing key is created (and rejected by validation if the format has no
// such key); an index may name an existing entry or append one. The value is
// read as YAML, so "[a, b]" and "{dist: uniform, min: 1ms, max: 2ms}" work.
func ParseWithOverrides(name string, data []byte, sets []string) (*Scenario, error) {
	return ParseWith(name, data, sets, nil)
}

// LoadWith reads the scenario file at path as ParseWith does.
func LoadWith(path string, sets []string, ext *Extensions) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWith(path, data, sets, ext)
}

// ParseWith is ParseWithOverrides for a scenario that may name what a Go
// program added to the format (ext, nil for none): its own scheduling
// policies. The scenario keeps ext (Extensions), so its Set, and the
// runner that runs it, know them too. Unusable extensions are an error
// (scheduler.ErrBadPolicy).
func ParseWith(name string, data []byte, sets []string, ext *Extensions) (*Scenario, error) {
	if err := ext.check(); err != nil {
		return nil, fmt.Errorf("%s: extensions: %w", name, err)
	}
	d := &decoder{file: name, dir: filepath.Dir(name), origin: map[*yaml.Node]string{}, ext: ext}
	root := d.parseYAML(data)
	if root == nil {
		return nil, d.errs
	}
	before := len(d.errs) // a second document's: the first is checked still
	for _, set := range sets {
		d.applySet(root, set)
	}
	if len(d.errs) > before {
		return nil, d.errs
	}
	s := d.scenario(root)
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool {
			a, b := d.errs[i], d.errs[j]
			if (a.Line == 0) != (b.Line == 0) {
				return b.Line == 0 // overrides last
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		return nil, d.errs
	}
	s.File, s.root, s.data, s.sets, s.ext = name, root, data, append([]string(nil), sets...), ext
	return s, nil
}

// Set applies one --set override (path as in ParseWithOverrides) and decodes
// the scenario again; on error the scenario is unchanged.
func (s *Scenario) Set(path, value string) error {
	ns, err := ParseWith(s.File, s.data, append(s.Overrides(), path+"="+value), s.ext)
	if err != nil {
		return err
	}
	*s = *ns
	return nil
}

type decoder struct {
	ext    *Extensions
	file   string
	dir    string
	errs   Errors
	origin map[*yaml.Node]string // nodes written by --set, to their "path=value"
	depth  int                   // costs profile nesting

	nodes  map[string]int      // node name -> index
	groups map[string][]string // group name -> node names
	cl     *Cluster

	// What an already-reported error left unknown; checks that depend on it
	// are skipped rather than reported again as follow-on errors.
	nodesUnknown     bool       // cluster.nodes or a group's name is broken: any node name may exist
	countUnknown     []string   // groups whose count is broken: NAME and NAME-k may exist
	uncounted        []NodeSpec // one node of each such group, for feasibility
	resourcesUnknown bool       // some group's cpus, gpus or resources are broken
	gcsUnknown       bool       // cluster.gcs shards or replicas are broken
	limitUnknown     bool       // duration_limit is broken

	limitAt *yaml.Node // the duration_limit value, to name it when --set gave it
}

// blame is the node an error about v is reported at: v, unless v is the
// file's own and the check failed because of a value --set gave (one of
// causes: a duration_limit a fault time must lie within, the counts that
// left no node), then that override, so the error names "--set
// path=value" rather than a line that is fine as written.
func (d *decoder) blame(v *yaml.Node, causes ...*yaml.Node) *yaml.Node {
	if _, set := d.origin[v]; set || v == nil {
		return v
	}
	for _, c := range causes {
		if _, set := d.origin[c]; set && c != nil {
			return c
		}
	}
	return v
}

// expectedBy reports "want (got v)" at blame(v, causes...).
func (d *decoder) expectedBy(v *yaml.Node, field, want string, causes ...*yaml.Node) {
	d.errAt(d.blame(v, causes...), field, fmt.Sprintf("%s (got %s)", want, describe(v)))
}

// mayExist reports whether name could be a node or group of the cluster
// but for an error already reported in cluster.nodes.
func (d *decoder) mayExist(name string) bool {
	if d.nodesUnknown {
		return true
	}
	for _, g := range d.countUnknown {
		if name == g {
			return true
		}
		if k, ok := strings.CutPrefix(name, g+"-"); ok && k != "" && strings.Trim(k, "0123456789") == "" {
			return true
		}
	}
	return false
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeAll reads every YAML document of data: the first one into doc,
// and whether another follows (one that is more than an empty ---), at
// which line. err is the first syntax error, of whichever document.
func decodeAll(data []byte, doc *yaml.Node) (secondAt int, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err = dec.Decode(doc)
	if errors.Is(err, io.EOF) { // an empty file: an empty scenario
		return 0, nil
	}
	for err == nil {
		var next yaml.Node
		e := dec.Decode(&next)
		if errors.Is(e, io.EOF) {
			break
		}
		if e != nil {
			return secondAt, e
		}
		if len(next.Content) == 1 && next.Content[0].Tag == "!!null" && next.Content[0].Value == "" {
			continue
		}
		if secondAt == 0 {
			secondAt = next.Line
		}
	}
	return secondAt, err
}

func (d *decoder) parseYAML(data []byte) *yaml.Node {
	var doc yaml.Node
	secondAt, err := decodeAll(data, &doc)
	if err != nil {
		d.errs = append(d.errs, syntaxError(d.file, data, err))
		return nil
	}
	if secondAt != 0 {
		// A second document would be read by no one: refuse it rather
		// than run half a file (an empty one, a trailing ---, is
		// nothing). The first is still checked, for its errors too.
		d.errs = append(d.errs, &FieldError{File: d.file, Line: secondAt, Column: 1,
			Msg: "a second YAML document (after ---): a scenario is one document"})
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	}
	root := doc.Content[0]
	if root.Tag == "!!null" {
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: root.Line, Column: root.Column}
	}
	return root
}

// maxSyntaxSearchBytes bounds the bytes syntaxError parses in all while
// it looks for an error's line (a parse of each prefix: quadratic in the
// file's length): a scenario file of a few hundred lines is searched
// whole, a machine-written one of thousands is given yaml.v3's line
// rather than seconds of parsing.
const maxSyntaxSearchBytes = 4 << 20

// syntaxError is a YAML syntax error as a FieldError at the problem's line.
// yaml.v3 gives a position only inside its message, and that one is where
// the construct being parsed began (its "context" mark; for a parser error
// 0-based, and left out on the first line), not where the problem is: a tab
// on line 4 was reported on line 3, a bad indentation on line 4 on line 1.
// The problem is on the first line whose addition makes the file fail with
// the same message, found by parsing ever longer prefixes (scenario files
// are short); the column is the line's first tab if it indents the line or
// the error is about a tab, else its first non-blank character. Where no prefix fails alike (an error only the
// end of the file shows), the library's line stays.
func syntaxError(file string, data []byte, err error) *FieldError {
	e := &FieldError{File: file, Line: 1, Column: 1, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	end, budget := 0, maxSyntaxSearchBytes
	for k, l := range lines {
		end += len(l)
		if k+2 < e.Line {
			// Before the construct yaml.v3 names (its mark may be
			// 0-based): the problem is not there.
			continue
		}
		if budget -= end; budget < 0 {
			break
		}
		var doc yaml.Node
		_, perr := decodeAll(data[:end], &doc)
		if perr == nil {
			continue
		}
		msg := perr.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			msg = m[2]
		}
		if strings.TrimPrefix(msg, "yaml: ") != e.Msg {
			continue
		}
		e.Line = k + 1
		text := string(l)
		lead := len(text) - len(strings.TrimLeft(text, " \t"))
		if i := strings.IndexByte(text, '\t'); i >= 0 && (i < lead || strings.Contains(e.Msg, "tab")) {
			e.Column = i + 1
		} else if i := strings.IndexFunc(text, func(r rune) bool { return r != ' ' && r != '\t' }); i >= 0 {
			e.Column = i + 1
		}
		break
	}
	return e
}

// ---- errors and node helpers

func (d *decoder) errAt(n *yaml.Node, field, msg string) {
	e := &FieldError{File: d.file, Field: field, Msg: msg}
	if n != nil {
		if o, ok := d.origin[n]; ok {
			e.File = "--set " + o
		} else {
			e.Line, e.Column = n.Line, n.Column
		}
	}
	d.errs = append(d.errs, e)
}

// expected reports "want (got X)" at n.
func (d *decoder) expected(n *yaml.Node, field, want string) {
	d.errAt(n, field, fmt.Sprintf("%s (got %s)", want, describe(n)))
}

// missing reports a required key that is absent from the mapping n.
func (d *decoder) missing(n *yaml.Node, field, want string) {
	d.errAt(n, field, want+" (got nothing)")
}

// missingKey reports a required key of o that is absent or null: at its
// value when the key is there (so a --set override that nulled it is
// named), else at the mapping parent.
func (d *decoder) missingKey(o *object, parent *yaml.Node, key, want string) {
	if v := o.vals[key]; v != nil {
		d.expected(v, o.at(key), want)
		return
	}
	d.missing(parent, o.at(key), want)
}

func describe(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil || n.Tag == "!!null":
		return "nothing"
	case n.Kind == yaml.MappingNode && len(n.Content) == 0:
		return "an empty mapping"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode && len(n.Content) == 0:
		return "an empty list"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:37] + "..."
	}
	if n.Tag == "!!str" {
		return strconv.Quote(v)
	}
	return v
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// mappingValue returns the value of key written in mapping n itself (nil
// if it is not), for errors about a value the decoder has already read.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n = deref(n); n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object is a decoded mapping: its values by key, and where each key was.
type object struct {
	n    *yaml.Node
	path string
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
	// merged marks the keys filled in by a merge key (<<), which an
	// explicit key overrides.
	merged map[string]bool
}

func (o *object) get(key string) *yaml.Node {
	v := deref(o.vals[key])
	if isNull(v) {
		return nil
	}
	return v
}
func (o *object) has(key string) bool  { return o.get(key) != nil }
func (o *object) at(key string) string { return join(o.path, key) }

// object decodes the mapping n (nil or null: empty), rejecting keys not in
// allowed, duplicate keys and non-string keys. It supports YAML merge keys.
func (d *decoder) object(n *yaml.Node, path string, allowed ...string) *object {
	o := &object{n: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	n = deref(n)
	if isNull(n) {
		return o
	}
	if n.Kind != yaml.MappingNode {
		d.expected(n, path, "a mapping")
		return o
	}
	d.fill(o, n, allowed, false, 0)
	return o
}

func (d *decoder) fill(o *object, n *yaml.Node, allowed []string, merged bool, depth int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && depth < 10 {
			src := deref(v)
			var maps []*yaml.Node
			if src != nil && src.Kind == yaml.SequenceNode {
				for _, m := range src.Content {
					maps = append(maps, deref(m))
				}
			} else {
				maps = append(maps, src)
			}
			for _, m := range maps {
				if m == nil || m.Kind != yaml.MappingNode {
					d.expected(v, o.path, "a merge of mappings")
					continue
				}
				d.fill(o, m, allowed, true, depth+1)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.expected(k, o.path, "a plain key")
			continue
		}
		if _, dup := o.keys[k.Value]; dup {
			// YAML merge keys: an explicit key overrides a merged one,
			// wherever it stands; of two merged, the first merge wins.
			if merged || !o.merged[k.Value] {
				if !merged {
					d.expected(k, join(o.path, k.Value), "each key once")
				}
				continue
			}
			delete(o.merged, k.Value)
			o.keys[k.Value], o.vals[k.Value] = k, v
			continue
		}
		if o.path == "" && strings.HasPrefix(k.Value, "x-") {
			continue // top-level extension keys hold anchors for reuse
		}
		if !contains(allowed, k.Value) {
			d.errAt(k, join(o.path, k.Value), fmt.Sprintf("unknown key; expected one of %s (got %q)", strings.Join(allowed, ", "), k.Value))
			continue
		}
		o.keys[k.Value], o.vals[k.Value] = k, v
		if merged {
			if o.merged == nil {
				o.merged = map[string]bool{}
			}
			o.merged[k.Value] = true
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// list returns the elements of the list n (nil for null). An element left
// empty (a stray "-", or "~") is reported as elem (got nothing), never
// silently dropped or read as an element with every default.
func (d *decoder) list(n *yaml.Node, path, elem string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.expected(n, path, "a list")
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		out[i] = deref(c)
		if isNull(out[i]) {
			d.expected(out[i], fmt.Sprintf("%s.%d", path, i), elem)
		}
	}
	return out
}

// scalar returns n's text if n is a non-null scalar.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.expected(n, path, want)
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, path, want string) string {
	v, ok := d.scalar(n, path, want)
	if ok && v == "" {
		d.expected(n, path, want)
	}
	return v
}

func (d *decoder) integer(n *yaml.Node, path string, min int) (int, bool) {
	want := fmt.Sprintf("an integer >= %d", min)
	v, ok := d.int64(n, path, want)
	if !ok {
		return 0, false
	}
	if v < int64(min) || v > math.MaxInt32*int64(1<<16) {
		d.expected(n, path, want)
		return 0, false
	}
	return int(v), true
}

func (d *decoder) int64(n *yaml.Node, path, want string) (int64, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!int":
			var v int64
			if err := n.Decode(&v); err == nil {
				return v, true
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f), true
			}
		}
	}
	d.expected(n, path, want)
	return 0, false
}

// number accepts an int or float >= min.
func (d *decoder) number(n *yaml.Node, path string, min float64) (float64, bool) {
	want := fmt.Sprintf("a number >= %g", min)
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			if f >= min {
				return f, true
			}
		}
	}
	d.expected(n, path, want)
	return 0, false
}

// amount decodes a resource amount: a number from 0 to what the runtime's
// fixed point holds (transport.CheckAmount).
func (d *decoder) amount(n *yaml.Node, path string) (float64, bool) {
	f, ok := d.number(n, path, 0)
	if !ok {
		return 0, false
	}
	if err := transport.CheckAmount(f); err != nil {
		d.expected(n, path, fmt.Sprintf("a resource amount from 0 to %d", int64(transport.MaxResourceUnits/transport.ResourceUnit)))
		return 0, false
	}
	return f, true
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	d.expected(n, path, "true or false")
	return false, false
}

// unit runs a unit parser on a scalar, reporting the parser's expectation.
func (d *decoder) unit(n *yaml.Node, path, want string, parse func(string) error) bool {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.expected(n, path, want)
		return false
	}
	if err := parse(n.Value); err != nil {
		d.expected(n, path, err.Error())
		return false
	}
	return true
}

// duration decodes a duration; negative ones only when neg.
func (d *decoder) duration(n *yaml.Node, path string, neg bool) (time.Duration, bool) {
	var v time.Duration
	ok := d.unit(n, path, "a duration like 10ms", func(s string) (err error) {
		v, err = ParseDuration(s)
		if err == nil && v < 0 && !neg {
			err = fmt.Errorf("a non-negative duration")
		}
		return err
	})
	return v, ok
}

// positive decodes a duration > 0: a negative one and 0 get the same
// message.
func (d *decoder) positive(n *yaml.Node, path string) (time.Duration, bool) {
	var v time.Duration
	ok := d.unit(n, path, "a duration like 10ms", func(s string) (err error) {
		v, err = ParseDuration(s)
		if err == nil && v <= 0 {
			err = fmt.Errorf("a positive duration")
		}
		return err
	})
	return v, ok
}

func (d *decoder) size(n *yaml.Node, path string) (int64, bool) {
	var v int64
	ok := d.unit(n, path, "a size like 1MiB", func(s string) (err error) { v, err = ParseSize(s); return })
	return v, ok
}

func (d *decoder) bandwidth(n *yaml.Node, path string) (float64, bool) {
	var v float64
	ok := d.unit(n, path, "a bandwidth like 10Gbps", func(s string) (err error) { v, err = ParseBandwidth(s); return })
	return v, ok
}

func (d *decoder) rate(n *yaml.Node, path string) (float64, bool) {
	var v float64
	ok := d.unit(n, path, "a rate like 100/s", func(s string) (err error) {
		if v, err = ParseRate(s); err == nil && v == 0 || errors.Is(err, ErrNegativeRate) {
			err = fmt.Errorf("a positive rate") // 0 and a negative rate get the same message
		}
		return
	})
	return v, ok
}

func (d *decoder) prob(n *yaml.Node, path string) (float64, bool) {
	var v float64
	ok := d.unit(n, path, "a probability", func(s string) (err error) { v, err = ParseProbability(s); return })
	return v, ok
}

// dist decodes a value or a {dist: ...} mapping; value parses one bound.
func (d *decoder) dist(n *yaml.Node, path string, value func(*yaml.Node, string) (float64, bool)) (Dist, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		v, ok := value(n, path)
		return Dist{Kind: Constant, Mean: v}, ok
	}
	o := d.object(n, path, "dist", "mean", "stddev", "min", "max")
	if n == nil || n.Kind != yaml.MappingNode {
		return Dist{}, false
	}
	var out Dist
	ok := true
	if !o.has("dist") {
		d.missing(n, o.at("dist"), "a distribution kind: one of "+strings.Join(DistKinds, ", "))
		return Dist{}, false
	}
	kn := o.get("dist")
	out.Kind, _ = d.scalar(kn, o.at("dist"), "a distribution kind")
	if !contains(DistKinds, out.Kind) {
		d.expected(kn, o.at("dist"), "one of "+strings.Join(DistKinds, ", "))
		return Dist{}, false
	}
	need := map[string][]string{
		Constant:    {"mean"},
		Uniform:     {"min", "max"},
		Normal:      {"mean", "stddev"},
		LogNormal:   {"mean", "stddev"},
		Exponential: {"mean"},
	}[out.Kind]
	optional := map[string][]string{
		Normal: {"min", "max"}, LogNormal: {"min", "max"}, Exponential: {"min", "max"},
	}[out.Kind]
	for _, k := range []string{"mean", "stddev", "min", "max"} {
		if o.vals[k] == nil {
			if contains(need, k) {
				d.missing(n, o.at(k), fmt.Sprintf("%s for a %s distribution", k, out.Kind))
				ok = false
			}
			continue
		}
		if !contains(need, k) && !contains(optional, k) {
			d.errAt(o.keys[k], o.at(k), fmt.Sprintf("a key a %s distribution uses: %s (got %q)", out.Kind, strings.Join(append(need, optional...), ", "), k))
			ok = false
			continue
		}
		if !o.has(k) { // the key is there, its value null: said at the value
			d.missingKey(o, n, k, fmt.Sprintf("%s for a %s distribution", k, out.Kind))
			ok = false
			continue
		}
		v, vok := value(o.get(k), o.at(k))
		ok = ok && vok
		switch k {
		case "mean":
			out.Mean = v
		case "stddev":
			out.Stddev = v
		case "min":
			out.Min = v
		case "max":
			out.Max = v
		}
	}
	if !ok {
		return out, false
	}
	if o.vals["max"] != nil && out.Kind != Uniform && out.Max == 0 {
		// Dist keeps "no max" as 0: a max of 0 would be no bound at all.
		d.expected(o.get("max"), o.at("max"), "a positive max (leave max out for no bound)")
		return out, false
	}
	if o.vals["max"] != nil && out.Min > out.Max {
		d.expected(o.get("max"), o.at("max"), "max >= min")
		return out, false
	}
	if (out.Kind == LogNormal || out.Kind == Exponential) && out.Mean <= 0 {
		d.expected(o.get("mean"), o.at("mean"), "a positive mean")
		return out, false
	}
	return out, true
}

func (d *decoder) durDist(n *yaml.Node, path string) (DurationDist, bool) {
	v, ok := d.dist(n, path, func(n *yaml.Node, p string) (float64, bool) {
		x, ok := d.duration(n, p, false)
		return float64(x), ok
	})
	return DurationDist{v}, ok
}

func (d *decoder) sizeDist(n *yaml.Node, path string) (SizeDist, bool) {
	v, ok := d.dist(n, path, func(n *yaml.Node, p string) (float64, bool) {
		x, ok := d.size(n, p)
		return float64(x), ok
	})
	return SizeDist{v}, ok
}

// resources decodes {name: amount}; reserved names are rejected.
func (d *decoder) resources(n *yaml.Node, path string, reserved []string, reservedMsg string) map[string]float64 {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.expected(n, path, "a mapping of resource name to amount")
		return nil
	}
	out := map[string]float64{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			d.expected(k, path, "a resource name")
			continue
		}
		p := join(path, k.Value)
		if contains(reserved, k.Value) {
			d.errAt(k, p, fmt.Sprintf("%s (got %q)", reservedMsg, k.Value))
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.expected(k, p, "each resource once")
			continue
		}
		if f, ok := d.amount(v, p); ok {
			if reserved == nil { // a demand (a workload's resources), as Ray checks a task's
				if err := transport.CheckRequest(f, k.Value == "GPU"); err != nil {
					d.expected(v, p, "an amount a task may ask for: at least 0.0001 (or 0), and for GPU a fraction below 1 or a whole number")
					continue
				}
			}
			out[k.Value] = f
		}
	}
	return out
}

// ---- the scenario

func (d *decoder) scenario(root *yaml.Node) *Scenario {
	s := &Scenario{Seed: DefaultSeed, DurationLimit: DefaultDurationLimit}
	o := d.object(root, "", "name", "seed", "description", "duration_limit", "cluster", "workload", "faults", "expect")
	base := filepath.Base(d.file)
	s.Name = strings.TrimSuffix(base, filepath.Ext(base))
	if n := o.get("name"); n != nil {
		s.Name = d.str(n, "name", "a scenario name")
	}
	if n := o.get("seed"); n != nil {
		s.Seed, _ = d.int64(n, "seed", "an integer seed")
	}
	if n := o.get("description"); n != nil {
		s.Description, _ = d.scalar(n, "description", "a text")
	}
	if n := o.get("duration_limit"); n != nil {
		d.limitAt = n
		if v, ok := d.positive(n, "duration_limit"); ok {
			s.DurationLimit = v
		} else {
			d.limitUnknown = true
		}
	}
	d.cl = &s.Cluster
	clusterAt := root // where a missing cluster.nodes is reported
	if v := o.vals["cluster"]; v != nil {
		clusterAt = v // null, perhaps from --set cluster=null
	}
	d.cluster(o.get("cluster"), clusterAt, s)
	s.nodeIndex = d.nodes
	items := d.list(o.get("workload"), "workload", "a workload entry")
	if wn := o.get("workload"); wn == nil {
		d.missingKey(o, root, "workload", "a list of workload entries")
	} else if wn.Kind == yaml.SequenceNode && len(items) == 0 {
		d.expected(wn, "workload", "at least one workload entry")
	}
	names := map[string]bool{}
	for i, n := range items {
		w := d.workload(n, fmt.Sprintf("workload.%d", i), i, s.DurationLimit)
		if names[w.Name] && w.Name != "" {
			field := fmt.Sprintf("workload.%d.name", i)
			if nn := mappingValue(n, "name"); nn != nil {
				d.expected(nn, field, "a unique workload name")
			} else {
				d.errAt(n, field, fmt.Sprintf("a unique workload name (got %q, this entry's default name, which an earlier entry has: name one of them)", w.Name))
			}
		}
		names[w.Name] = true
		s.Workload = append(s.Workload, w)
	}
	for i, n := range d.list(o.get("faults"), "faults", "a fault") {
		if f, ok := d.fault(n, fmt.Sprintf("faults.%d", i), s); ok {
			f.Pos = i + 1 // kept through the sort by time (Fault.EntryIndex)
			s.Faults = append(s.Faults, f)
		}
	}
	sort.SliceStable(s.Faults, func(i, j int) bool { return s.Faults[i].At < s.Faults[j].At })
	d.expect(o.get("expect"), s)
	return s
}

// ---- cluster

func (d *decoder) cluster(n, parent *yaml.Node, s *Scenario) {
	c := &s.Cluster
	o := d.object(n, "cluster", "nodes", "network", "gcs", "scheduler", "costs")
	d.nodes, d.groups = map[string]int{}, map[string][]string{}
	groups := d.list(o.get("nodes"), "cluster.nodes", "a node group")
	if nn := o.get("nodes"); nn == nil || nn.Kind != yaml.SequenceNode || len(groups) == 0 {
		d.nodesUnknown = true
	}
	if nn := o.get("nodes"); nn == nil {
		where := parent
		if n != nil {
			where = n
		}
		d.missingKey(o, where, "nodes", "a list of node groups")
	} else if nn.Kind == yaml.SequenceNode && len(groups) == 0 {
		d.expected(nn, "cluster.nodes", "at least one node group")
	}
	groupAt := map[string]*yaml.Node{} // node name -> its group's name
	var groupNames []*object           // each of c.Groups as decoded
	var counts []*yaml.Node            // each group's count value, if given
	for i, g := range groups {
		path := fmt.Sprintf("cluster.nodes.%d", i)
		go_ := d.object(g, path, "name", "count", "cpus", "gpus", "resources", "object_store", "object_spill", "start", "autoscale")
		if deref(g) == nil || deref(g).Kind != yaml.MappingNode {
			d.nodesUnknown = true
			continue
		}
		grp := NodeGroup{Count: 1, CPUs: 1, ObjectStoreBytes: DefaultObjectStoreBytes}
		nameNode := go_.get("name")
		before := len(d.errs)
		if nameNode == nil {
			d.missing(g, go_.at("name"), "a group name")
		} else {
			grp.Name = d.str(nameNode, go_.at("name"), "a group name")
			if strings.ContainsAny(grp.Name, " \t\n,=") {
				d.expected(nameNode, go_.at("name"), "a name without spaces, commas or '='")
			}
		}
		if len(d.errs) > before {
			d.nodesUnknown = true
		}
		countOK := true
		if v := go_.get("count"); v != nil {
			grp.Count, countOK = d.integer(v, go_.at("count"), 0)
			counts = append(counts, v)
		}
		before = len(d.errs)
		if v := go_.get("cpus"); v != nil {
			grp.CPUs, _ = d.amount(v, go_.at("cpus"))
		}
		if v := go_.get("gpus"); v != nil {
			grp.GPUs, _ = d.amount(v, go_.at("gpus"))
		}
		grp.Resources = d.resources(go_.get("resources"), go_.at("resources"), []string{"CPU", "GPU"}, "a custom resource; set CPU and GPU with cpus and gpus")
		if len(d.errs) > before {
			d.resourcesUnknown = true
		}
		storeOK := true
		if v := go_.get("object_store"); v != nil {
			grp.ObjectStoreBytes, storeOK = d.size(v, go_.at("object_store"))
		}
		if v := go_.get("object_spill"); v != nil {
			if n, ok := d.size(v, go_.at("object_spill")); ok {
				if n > 0 && grp.ObjectStoreBytes == 0 && storeOK {
					d.expected(v, go_.at("object_spill"), "0 (no spill tier) beside an unbounded object_store (0): only a bounded store spills")
				} else {
					grp.ObjectSpillBytes = n
				}
			}
		}
		if v := go_.get("start"); v != nil {
			if t, ok := d.duration(v, go_.at("start"), false); ok {
				switch {
				case len(c.Nodes) == 0 && grp.Count > 0 && t > 0:
					d.expected(v, go_.at("start"), "0: the cluster's first node starts with it (the head: the first driver runs there)")
				case t > s.DurationLimit && !d.limitUnknown:
					d.expectedBy(v, go_.at("start"), fmt.Sprintf("a time within duration_limit %s", FormatDuration(s.DurationLimit)), d.limitAt)
				default:
					grp.Start = t
				}
			}
		}
		if v := go_.get("autoscale"); v != nil {
			grp.Autoscale = d.autoscale(v, path+".autoscale", grp.Count)
			switch {
			case grp.Autoscale == nil:
			case len(c.Nodes) == 0 && grp.Count > 0:
				d.expected(v, path+".autoscale", "no autoscale on the group of the cluster's first node (the head: the first driver runs there)")
				grp.Autoscale = nil
			case grp.Start > 0:
				d.expected(v, path+".autoscale", "no autoscale beside start: an autoscaled group's nodes start when launched")
				grp.Autoscale = nil
			}
		}
		if grp.Name == "" {
			continue
		}
		if _, dup := d.groups[grp.Name]; dup {
			d.expected(nameNode, go_.at("name"), "a unique group name")
			// A broken name hides "no such node" for the names this
			// group would make (NAME-k), as a broken count does.
			d.countUnknown = append(d.countUnknown, grp.Name)
			d.uncounted = append(d.uncounted, NodeSpec{Name: grp.Name, Group: grp.Name, CPUs: grp.CPUs, GPUs: grp.GPUs, Resources: grp.Resources})
			continue
		}
		if countOK && len(c.Nodes)+grp.Count > MaxNodes {
			want := fmt.Sprintf("at most %d nodes in the cluster", MaxNodes)
			if v := go_.get("count"); v != nil {
				// The count alone may be within the bound: say the total.
				before := fmt.Sprintf("the %d nodes", len(c.Nodes))
				if len(c.Nodes) == 1 {
					before = "the node"
				}
				d.errAt(v, go_.at("count"), fmt.Sprintf("%s (got %d: %d in all, with %s before)", want, grp.Count, len(c.Nodes)+grp.Count, before))
			} else { // count left out: the group's one node is too many
				d.errAt(g, go_.at("count"), fmt.Sprintf("%s (got count 1, the default, after %d nodes)", want, len(c.Nodes)))
			}
			countOK = false
		}
		if !countOK {
			d.countUnknown = append(d.countUnknown, grp.Name)
			d.uncounted = append(d.uncounted, NodeSpec{Name: grp.Name, Group: grp.Name, CPUs: grp.CPUs, GPUs: grp.GPUs, Resources: grp.Resources})
			continue
		}
		c.Groups = append(c.Groups, grp)
		groupNames = append(groupNames, go_)
		var members []string
		for k := 0; k < grp.Count; k++ {
			spec := grp.Node(k)
			name := spec.Name
			if _, dup := d.nodes[name]; dup {
				by := fmt.Sprintf("the group at line %d", groupAt[name].Line)
				if o, set := d.origin[groupAt[name]]; set { // its line is the override's value's
					by = "the group of --set " + o
				}
				d.expected(nameNode, go_.at("name"), fmt.Sprintf("unique node names; node %q is already made by %s", name, by))
				break
			}
			groupAt[name] = nameNode
			d.nodes[name] = len(c.Nodes)
			members = append(members, name)
			c.Nodes = append(c.Nodes, spec)
		}
		d.groups[grp.Name] = members
	}
	// A group of other than one node must not be named like a node of
	// another group: a fault or link naming it would mean that node.
	for i, grp := range c.Groups {
		if k, ok := d.nodes[grp.Name]; ok && grp.Count != 1 && c.Nodes[k].Group != grp.Name {
			d.expected(groupNames[i].get("name"), groupNames[i].at("name"),
				fmt.Sprintf("a group name no node has; node %q of group %q has it", grp.Name, c.Nodes[k].Group))
		}
	}
	if len(groups) > 0 && len(c.Nodes) == 0 && !d.nodesUnknown && len(d.countUnknown) == 0 {
		// A count of 0 from --set names the override.
		d.errAt(d.blame(o.get("nodes"), counts...), "cluster.nodes", "at least one node (got none: every count is 0)")
	}
	c.GCS = GCSConfig{Shards: 1, Replicas: 1}
	g := d.object(o.get("gcs"), "cluster.gcs", "shards", "replicas")
	for _, f := range []struct {
		key string
		dst *int
		max int
	}{{"shards", &c.GCS.Shards, ray.MaxGCSShards}, {"replicas", &c.GCS.Replicas, ray.MaxGCSReplicas}} {
		if v := g.get(f.key); v != nil {
			var ok bool
			if *f.dst, ok = d.integer(v, g.at(f.key), 1); !ok {
				d.gcsUnknown = true
			} else if *f.dst > f.max {
				d.expected(v, g.at(f.key), fmt.Sprintf("at most %d", f.max))
				d.gcsUnknown = true
			}
		}
	}
	// After the GCS: a link may name its shards (see endpoints).
	d.network(o.get("network"), &c.Network)
	c.Scheduler = SchedulerConfig{Policy: DefaultPolicy, SpillThreshold: DefaultSpillThreshold}
	sc := d.object(o.get("scheduler"), "cluster.scheduler", "policy", "spill_threshold")
	if v := sc.get("policy"); v != nil {
		p, _ := d.scalar(v, sc.at("policy"), "a policy")
		if names := d.ext.PolicyNames(); contains(names, p) {
			c.Scheduler.Policy = p
		} else {
			d.expected(v, sc.at("policy"), "one of "+strings.Join(names, ", "))
		}
	}
	if v := sc.get("spill_threshold"); v != nil {
		c.Scheduler.SpillThreshold, _ = d.integer(v, sc.at("spill_threshold"), 0)
	}
	c.Costs = d.costs(o.get("costs"), "cluster.costs")
}

// resolve names one node or group; it returns its node names.
func (d *decoder) resolve(n *yaml.Node, path string) ([]string, bool) {
	name, ok := d.scalar(n, path, "a node or group name")
	if !ok {
		return nil, false
	}
	if _, ok := d.nodes[name]; ok {
		return []string{name}, true
	}
	if g, ok := d.groups[name]; ok && len(g) > 0 {
		return append([]string(nil), g...), true
	}
	if !d.mayExist(name) {
		d.expected(n, path, "a node or group name of the cluster")
	}
	return nil, false
}

// node names exactly one node.
func (d *decoder) node(n *yaml.Node, path string) (string, bool) {
	name, ok := d.scalar(n, path, "a node name")
	if !ok {
		return "", false
	}
	if _, ok := d.nodes[name]; ok {
		return name, true
	}
	if g, ok := d.groups[name]; ok && len(g) > 0 {
		d.expected(n, path, fmt.Sprintf("one node name, like %s (a group of %d nodes names several)", g[0], len(g)))
		return "", false
	}
	if !d.mayExist(name) {
		d.expected(n, path, "a node name of the cluster")
	}
	return "", false
}

var linkKeys = []string{"latency", "jitter", "bandwidth", "loss", "duplicate", "reorder"}

func (d *decoder) network(n *yaml.Node, nw *Network) {
	o := d.object(n, "cluster.network", append(linkKeys, "links")...)
	nw.Latency = FixedDuration(DefaultLatency)
	nw.Jitter = FixedDuration(0)
	nw.Bandwidth = DefaultBandwidth
	var l Link
	d.linkFields(o, &l)
	if l.Latency != nil {
		nw.Latency = *l.Latency
	}
	if l.Jitter != nil {
		nw.Jitter = *l.Jitter
	}
	if l.Bandwidth != nil {
		nw.Bandwidth = *l.Bandwidth
	}
	if l.Loss != nil {
		nw.Loss = *l.Loss
	}
	if l.Duplicate != nil {
		nw.Duplicate = *l.Duplicate
	}
	if l.Reorder != nil {
		nw.Reorder = *l.Reorder
	}
	for i, ln := range d.list(o.get("links"), o.at("links"), "a link") {
		path := fmt.Sprintf("cluster.network.links.%d", i)
		lo := d.object(ln, path, append(linkKeys, "from", "to", "symmetric")...)
		if deref(ln) == nil || deref(ln).Kind != yaml.MappingNode {
			continue
		}
		if link, ok := d.link(lo, ln); ok {
			nw.Links = append(nw.Links, link)
		}
	}
}

// link decodes from, to, symmetric and the link fields of o.
func (d *decoder) link(o *object, n *yaml.Node) (Link, bool) {
	l := Link{Symmetric: true}
	ok := true
	for _, end := range []string{"from", "to"} {
		v := o.get(end)
		if v == nil {
			d.missing(n, o.at(end), "a node or group name")
			ok = false
			continue
		}
		nodes, rok := d.endpoints(v, o.at(end))
		ok = ok && rok
		if end == "from" {
			l.From, l.FromNodes = v.Value, nodes
		} else {
			l.To, l.ToNodes = v.Value, nodes
		}
	}
	if ok && len(l.FromNodes) == 1 && len(l.ToNodes) == 1 && l.FromNodes[0] == l.ToNodes[0] {
		if _, node := d.nodes[l.FromNodes[0]]; node { // a node has no link to itself
			d.expected(o.get("to"), o.at("to"), "a node other than from (a node has no link to itself)")
			ok = false
		}
	}
	if v := o.get("symmetric"); v != nil {
		l.Symmetric, _ = d.boolean(v, o.at("symmetric"))
	}
	d.linkFields(o, &l)
	return l, ok
}

func (d *decoder) linkFields(o *object, l *Link) {
	if v := o.get("latency"); v != nil {
		if x, ok := d.durDist(v, o.at("latency")); ok {
			l.Latency = &x
		}
	}
	if v := o.get("jitter"); v != nil {
		if x, ok := d.durDist(v, o.at("jitter")); ok {
			l.Jitter = &x
		}
	}
	if v := o.get("bandwidth"); v != nil {
		if x, ok := d.bandwidth(v, o.at("bandwidth")); ok {
			l.Bandwidth = &x
		}
	}
	for _, p := range []struct {
		key string
		dst **float64
	}{{"loss", &l.Loss}, {"duplicate", &l.Duplicate}, {"reorder", &l.Reorder}} {
		if v := o.get(p.key); v != nil {
			if x, ok := d.prob(v, o.at(p.key)); ok {
				*p.dst = &x
			}
		}
	}
}

func (d *decoder) costs(n *yaml.Node, path string) Costs {
	c := Costs{Profile: DefaultCostProfile}
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && !isNull(n) {
		d.costProfile(n, path, &c)
		return c
	}
	o := d.object(n, path, append([]string{"profile"}, CostOps...)...)
	if v := o.get("profile"); v != nil {
		d.costProfile(v, o.at("profile"), &c)
	}
	for _, op := range CostOps {
		if v := o.get(op); v != nil {
			if x, ok := d.duration(v, o.at(op), false); ok {
				if c.Overrides == nil {
					c.Overrides = map[string]time.Duration{}
				}
				c.Overrides[op] = x
			}
		}
	}
	return c
}

// LoadCosts reads a costs file (a mapping like cluster.costs: a base
// profile, or the path of another costs file, and per-operation durations)
// as a scenario that names it reads it: what calibrate -o writes.
func LoadCosts(path string) (Costs, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Costs{}, err
	}
	d := &decoder{file: path, dir: filepath.Dir(path), origin: map[*yaml.Node]string{}, depth: 1}
	root := d.parseYAML(data)
	var c Costs
	if root != nil {
		c = d.costs(root, "")
	}
	if len(d.errs) > 0 {
		return Costs{}, d.errs
	}
	c.Path = path
	return c, nil
}

// Resolve returns the service-time profile c describes: its base profile
// with its overrides applied.
func (c Costs) Resolve() (costs.Profile, error) {
	prof, err := costs.Named(c.Profile)
	if err != nil {
		return prof, err
	}
	ops := make([]string, 0, len(c.Overrides))
	for op := range c.Overrides {
		ops = append(ops, op)
	}
	sort.Strings(ops) // the first bad key reported is always the same
	for _, op := range ops {
		f, err := prof.Field(op)
		if err != nil {
			return prof, err
		}
		*f = c.Overrides[op]
	}
	return prof, nil
}

// autoscale reads a node group's autoscale mapping; nil if broken (an
// error said).
func (d *decoder) autoscale(n *yaml.Node, path string, count int) *Autoscale {
	o := d.object(n, path, "min", "boot", "idle_timeout")
	if deref(n) == nil || deref(n).Kind != yaml.MappingNode {
		return nil
	}
	a := &Autoscale{IdleTimeout: DefaultIdleTimeout}
	ok := true
	if v := o.get("min"); v != nil {
		var good bool
		if a.Min, good = d.integer(v, o.at("min"), 0); good && a.Min > count {
			d.expected(v, o.at("min"), fmt.Sprintf("at most the group's count, %d", count))
			good = false
		}
		ok = ok && good
	}
	if v := o.get("boot"); v != nil {
		var good bool
		a.Boot, good = d.duration(v, o.at("boot"), false)
		ok = ok && good
	}
	if v := o.get("idle_timeout"); v != nil {
		var good bool
		a.IdleTimeout, good = d.positive(v, o.at("idle_timeout"))
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return a
}

// costProfile reads a profile name, or a costs file (a mapping like
// cluster.costs, relative to the scenario's directory) folded into c.
func (d *decoder) costProfile(n *yaml.Node, path string, c *Costs) {
	name, ok := d.scalar(n, path, "a profile name or path")
	if !ok {
		return
	}
	if contains(CostProfiles, name) {
		c.Profile = name
		return
	}
	if !strings.ContainsAny(name, `/\`) && !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
		d.expected(n, path, "one of "+strings.Join(CostProfiles, ", ")+", or a path to a costs file")
		return
	}
	file := name
	if !filepath.IsAbs(file) {
		if _, override := d.origin[n]; override {
			// A --set value is the command line's: relative to where the
			// command runs, as a path argument is (raysim calibrate -o
			// profile.yaml, then --set cluster.costs.profile=profile.yaml).
			if abs, err := filepath.Abs(file); err == nil {
				file = abs
			}
		} else {
			file = filepath.Join(d.dir, file)
		}
	}
	if d.depth > 4 {
		d.expected(n, path, "a costs file that does not name costs files more than 4 deep")
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		d.expected(n, path, fmt.Sprintf("a readable costs file (%v)", err))
		return
	}
	sub := &decoder{file: file, dir: filepath.Dir(file), origin: map[*yaml.Node]string{}, depth: d.depth + 1}
	root := sub.parseYAML(data)
	var fc Costs
	if root != nil {
		fc = sub.costs(root, "")
	}
	if len(sub.errs) > 0 {
		d.expected(n, path, "a valid costs file")
		d.errs = append(d.errs, sub.errs...)
		return
	}
	c.Profile, c.Path = fc.Profile, file
	for k, v := range fc.Overrides {
		if c.Overrides == nil {
			c.Overrides = map[string]time.Duration{}
		}
		c.Overrides[k] = v
	}
}
