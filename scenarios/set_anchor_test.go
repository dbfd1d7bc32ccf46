package scenarios_test

import (
	"testing"
	"time"

	"raysim/scenarios"
)

// TestSetOnAnchorLeavesItsUsersAlone guards --set on a value that carries
// an anchor others reuse. The docs promise a --set changes the entry it
// names only, never the anchor's other users; that held for a path going
// through an alias (unalias copies it), but the entry that defines the
// anchor was edited in place, so every alias and merge of it changed too:
// --set cluster.nodes.0.count=5 gave the group "small" (<<: *worker) five
// nodes as well (10 nodes, not 7), and --set workload.0.params.duration=1ms
// changed entry b's duration (*d). Right: the anchor's users keep what the
// file gave them.
func TestSetOnAnchorLeavesItsUsersAlone(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("testdata/anchor-inline.yaml",
		[]string{"cluster.nodes.0.count=5", "workload.0.params.duration=1ms"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Cluster.Nodes); n != 7 {
		t.Errorf("%d nodes, want 7 (cpu: 5 by the override, small: 2 from the anchor as written)", n)
	}
	a := s.Workload[0].Params.(*scenarios.ParallelParams).Duration.Mean
	b := s.Workload[1].Params.(*scenarios.ParallelParams).Duration.Mean
	if time.Duration(a) != time.Millisecond {
		t.Errorf("entry a: duration %v, want the override's 1ms", time.Duration(a))
	}
	if time.Duration(b) != 5*time.Millisecond {
		t.Errorf("entry b (duration: *d): %v, want the file's 5ms", time.Duration(b))
	}
}

// An override of a template (a top-level x- key holding an anchor) is
// meant for its users: they all see it.
func TestSetOnTemplateReachesItsUsers(t *testing.T) {
	src := "x-w: &w {cpus: 8}\ncluster:\n  nodes:\n    - {<<: *w, name: a}\n    - {<<: *w, name: b}\nworkload:\n  - generator: parallel\n"
	s, err := scenarios.ParseWithOverrides("t.yaml", []byte(src), []string{"x-w.cpus=2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Cluster.Nodes {
		if n.CPUs != 2 {
			t.Errorf("node %s: %g cpus, want the template's 2", n.Name, n.CPUs)
		}
	}
}
