package scenarios

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// applySet applies one "path=value" override to the tree under root.
func (d *decoder) applySet(root *yaml.Node, set string) {
	path, value, found := strings.Cut(set, "=")
	path = strings.TrimSpace(path)
	fail := func(field, msg string) {
		d.errs = append(d.errs, &FieldError{File: "--set " + set, Field: field, Msg: msg})
	}
	if !found || path == "" {
		fail("", "expected path=value, like workload.0.params.tasks=1000 (got "+strconv.Quote(set)+")")
		return
	}
	if strings.TrimSpace(value) == "" {
		d.clearSet(root, path, set, fail)
		return
	}
	var val yaml.Node
	if err := yaml.Unmarshal([]byte(value), &val); err != nil {
		fail(path, "expected a YAML value (got "+strconv.Quote(value)+": "+strings.TrimPrefix(err.Error(), "yaml: ")+")")
		return
	}
	newVal := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	if val.Kind == yaml.DocumentNode && len(val.Content) > 0 {
		newVal = val.Content[0]
	}
	segs := strings.Split(path, ".")
	// Editing a template (a top-level x- key) is meant to reach its users.
	tmpl := strings.HasPrefix(segs[0], "x-")
	cur := root
	for i, seg := range segs {
		done := strings.Join(segs[:i+1], ".")
		last := i == len(segs)-1
		cur = unalias(cur)
		if !tmpl {
			detach(root, cur)
		}
		if isNull(cur) {
			// Grow a container for the rest of the path.
			if _, err := strconv.Atoi(seg); err == nil {
				*cur = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			} else {
				*cur = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			d.origin[cur] = set
		}
		var next *yaml.Node
		switch cur.Kind {
		case yaml.MappingNode:
			for k := 0; k+1 < len(cur.Content); k += 2 {
				if cur.Content[k].Value == seg {
					next = cur.Content[k+1]
				}
			}
			if next == nil {
				key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}
				next = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
				if m := mergedValue(cur, seg, 0); m != nil && !last {
					// A merge key supplies it: edit a copy of it, or the
					// new explicit key would hide its other merged keys.
					next = copyNode(deref(m))
				}
				d.origin[key], d.origin[next] = set, set
				cur.Content = append(cur.Content, key, next)
			}
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx > len(cur.Content) {
				fail(done, fmt.Sprintf("expected a list index in [0, %d] (got %q)", len(cur.Content), seg))
				return
			}
			if idx == len(cur.Content) {
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"})
				d.origin[cur.Content[idx]] = set
			}
			next = cur.Content[idx]
		default:
			fail(strings.Join(segs[:i], "."), fmt.Sprintf("expected a mapping or list to hold %q (got %s)", seg, describe(cur)))
			return
		}
		if last {
			if !tmpl {
				detach(root, next)
			}
			*next = *newVal
			markOrigin(d.origin, next, set)
			return
		}
		cur = next
	}
}

// mergedValue is the value a merge key (<<) of mapping n gives key, in the
// order the decoder reads merges (the first one that has it wins); nil if
// none does.
func mergedValue(n *yaml.Node, key string, depth int) *yaml.Node {
	if n = deref(n); n == nil || n.Kind != yaml.MappingNode || depth > 10 {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!merge" {
			if depth > 0 && k.Value == key {
				return v
			}
			continue
		}
		srcs := []*yaml.Node{deref(v)}
		if src := deref(v); src != nil && src.Kind == yaml.SequenceNode {
			srcs = src.Content
		}
		for _, m := range srcs {
			if x := mergedValue(m, key, depth+1); x != nil {
				return x
			}
		}
	}
	return nil
}

// unalias returns n, made a copy of what it points to if it is an alias: an
// override reaching through an alias changes only the entry it names, not
// every other user of the anchor.
func unalias(n *yaml.Node) *yaml.Node {
	if n == nil || n.Kind != yaml.AliasNode {
		return n
	}
	*n = *copyNode(deref(n))
	return n
}

// detach gives every alias of n under root (n carries an anchor that an
// override is about to edit) a copy of n as it is: an override changes the
// entry it names only, never the anchor's other users.
func detach(root, n *yaml.Node) {
	if n == nil || n.Anchor == "" || n.Kind == yaml.AliasNode {
		return
	}
	var orig *yaml.Node
	seen := map[*yaml.Node]bool{}
	var walk func(x *yaml.Node)
	walk = func(x *yaml.Node) {
		if x == nil || seen[x] {
			return
		}
		seen[x] = true
		if x.Kind == yaml.AliasNode && x.Alias == n {
			if orig == nil {
				orig = copyNode(n)
			}
			*x = *copyNode(orig)
			return
		}
		for _, c := range x.Content {
			walk(c)
		}
	}
	walk(root)
}

// copyNode copies n and everything under it but what aliases point to.
func copyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Anchor = ""
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			c.Content[i] = copyNode(k)
		}
	}
	return &c
}

func markOrigin(origin map[*yaml.Node]string, n *yaml.Node, set string) {
	if n == nil {
		return
	}
	origin[n] = set
	for _, c := range n.Content {
		markOrigin(origin, c, set)
	}
}

// clearSet applies "path=" (an empty value): it empties the list or mapping
// at path, as [] or {} would. Anything else given nothing is an error, so
// that --set seed=$SEED with SEED unset does not quietly run the default.
func (d *decoder) clearSet(root *yaml.Node, path, set string, fail func(field, msg string)) {
	const hint = "an empty value only clears a list or mapping, and null restores a default"
	cur := root
	tmpl := strings.HasPrefix(path, "x-") // a template's users see it cleared
	for _, seg := range strings.Split(path, ".") {
		cur = unalias(cur)
		if !tmpl {
			detach(root, cur)
		}
		var next *yaml.Node
		switch {
		case cur == nil:
		case cur.Kind == yaml.MappingNode:
			for k := 0; k+1 < len(cur.Content); k += 2 {
				if cur.Content[k].Value == seg {
					next = cur.Content[k+1]
				}
			}
		case cur.Kind == yaml.SequenceNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(cur.Content) {
				next = cur.Content[i]
			}
		}
		if next == nil {
			fail(path, "a value after '=' (got nothing, and the file has no list or mapping there to clear); "+hint)
			return
		}
		cur = next
	}
	target := deref(cur)
	if !tmpl {
		detach(root, cur)
	}
	if target.Kind != yaml.MappingNode && target.Kind != yaml.SequenceNode {
		fail(path, fmt.Sprintf("a value after '=' (got nothing; the file has %s there); %s", describe(target), hint))
		return
	}
	empty := yaml.Node{Kind: target.Kind, Tag: target.Tag, Line: cur.Line, Column: cur.Column, Style: yaml.FlowStyle}
	*cur = empty
	d.origin[cur] = set
}
