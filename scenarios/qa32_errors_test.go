package scenarios

import (
	"strings"
	"testing"
)

const qa32Base = `name: base
duration_limit: 3s
cluster:
  nodes:
    - {name: head, cpus: 2}
    - {name: w, count: 3, cpus: 2}
workload:
  - generator: parallel
    params: {tasks: 50, duration: 1ms}
faults:
  - {at: 20ms, kill_node: w-1}
`

// qa32Errors is the error of base with sets, which must fail.
func qa32Errors(t *testing.T, sets ...string) string {
	t.Helper()
	_, err := ParseWithOverrides("base.yaml", []byte(qa32Base), sets)
	if err == nil {
		t.Fatalf("%v loaded", sets)
	}
	return err.Error()
}

// TestRangeMessages (qa32 #1, #2): an integer above the loader's bound
// says the range, not ">= 0", which it is; the workload bound prints the
// count exactly (1e+08 read as legal) and not "(got a mapping)". Fails
// before: "an integer >= 0 (got 9223372036854775)", "(tasks = 1e+08) (got
// a mapping)".
func TestRangeMessages(t *testing.T) {
	e := qa32Errors(t, "workload.0.params.tasks=9223372036854775")
	if !strings.Contains(e, "workload.0.params.tasks: an integer from 0 to 140737488289792 (got 9223372036854775)") {
		t.Errorf("got %s", e)
	}
	e = qa32Errors(t, "workload.0.params.tasks=100000001")
	if !strings.Contains(e, "(tasks = 100000001)") || strings.Contains(e, "got a mapping") {
		t.Errorf("got %s", e)
	}
}

// TestNulledKeyNamesTheOverride (qa32 #18): an override that nulls a
// required key is reported at the override, not at the line of the file's
// mapping. Fails before: "base.yaml:10:5: faults.0.at".
func TestNulledKeyNamesTheOverride(t *testing.T) {
	for _, set := range []string{"faults.0.at=~", "faults.0.at=null", "workload.0.generator=~"} {
		e := qa32Errors(t, set)
		if !strings.HasPrefix(e, "--set "+set+": ") || strings.Contains(e, "base.yaml:") {
			t.Errorf("%s: got %s", set, e)
		}
	}
	// A key the file leaves out is still reported at its mapping's line.
	_, err := ParseWithOverrides("base.yaml", []byte(strings.Replace(qa32Base, "at: 20ms, ", "", 1)), nil)
	if err == nil || !strings.Contains(err.Error(), "base.yaml:11:") {
		t.Errorf("got %v", err)
	}
}

// TestNullNameReportedOnce (qa32 #19): a null entry of a list of names is
// one error, not a second "a node or group name" follow-on. Fails before:
// two errors at faults.0.partition.1.1 (and at expect.invariants.0).
func TestNullNameReportedOnce(t *testing.T) {
	for set, path := range map[string]string{
		"faults=[{at: 1ms, partition: [[head], [w-0, ~]]}]":                  "faults.0.partition.1.1:",
		"expect.invariants=[~]":                                              "expect.invariants.0:",
		"faults=[{at: 1ms, for: 1ms, task_errors: {rate: 10%, nodes: [~]}}]": "faults.0.task_errors.nodes.0:",
	} {
		e := qa32Errors(t, set)
		if n := strings.Count(e, path); n != 1 {
			t.Errorf("%s: %d errors at %s:\n%s", set, n, path, e)
		}
	}
}
