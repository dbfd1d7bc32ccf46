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
	cur := root
	for i, seg := range segs {
		done := strings.Join(segs[:i+1], ".")
		last := i == len(segs)-1
		cur = deref(cur)
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
			*next = *newVal
			markOrigin(d.origin, next, set)
			return
		}
		cur = next
	}
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
