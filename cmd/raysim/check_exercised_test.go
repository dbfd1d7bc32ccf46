package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// QA qa28 item 2: "PASS N random fault schedules" while most drawn faults
// came after the work had ended (--horizon 1s around a run of ~10ms) and
// were never injected. Right: the summary and --json count the faults
// drawn, injected and drawn too late, and the schedules that injected
// none; by default faults are drawn within the scenario's fault-free run
// time, so none comes too late.
func TestCheckCountsWhatItInjected(t *testing.T) {
	t.Parallel()
	args := []string{"check", "testdata/tiny.yaml", "--runs", "20", "--progress", "off", "-o", t.TempDir(),
		"--set", "workload.0.params.tasks=5", "--set", "workload.1.params.rounds=1"}
	code, out, errOut := call(t, append(args, "--horizon", "10s")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"PASS tiny: 20 random fault schedules", "drawn (before --horizon 10s)",
		"drawn after their run had ended (never injected)", "schedules injected none", "lower --horizon"} {
		if !strings.Contains(out, want) {
			t.Errorf("--horizon 10s: summary lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = call(t, append(args, "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	if !rep.OK || rep.Run != 20 || rep.FaultsDrawn == 0 || rep.FaultsInjected == 0 || !rep.HorizonFromBase ||
		rep.HorizonSeconds <= 0 || rep.HorizonSeconds > 1 || rep.HorizonSeconds != rep.BaseVirtualSeconds ||
		rep.SchedulesWithoutFaults < rep.SchedulesNoneDrawn || rep.SchedulesWithoutFaults >= rep.Run {
		t.Errorf("default horizon: %+v", rep)
	}
	if rep.FaultsAfterEnd*2 > rep.FaultsDrawn {
		t.Errorf("with the horizon at the fault-free run time, %d of %d faults came after the run", rep.FaultsAfterEnd, rep.FaultsDrawn)
	}
}

// QA qa28 item 5: --faults naming a kind that cannot apply to the scenario
// drew nothing (or only no-ops) and reported PASS. Right: exit 2 saying why;
// the default kinds leave such a kind out with a note.
func TestCheckRefusesFaultKindsThatCannotApply(t *testing.T) {
	t.Parallel()
	noActors := filepath.Join(t.TempDir(), "noactors.yaml")
	if err := os.WriteFile(noActors, []byte(`name: na
cluster: {nodes: [{name: head, cpus: 2}, {name: w, count: 2, cpus: 2}]}
workload: [{generator: parallel, params: {tasks: 10, duration: 1ms}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"testdata/tiny.yaml", "--faults", "partition,kill_gcs_replica"}, "--faults kill_gcs_replica: cannot apply to testdata/tiny.yaml: needs cluster.gcs.replicas >= 2"},
		{[]string{"testdata/tiny.yaml", "--faults", "kill_node", "--set", "workload.0.drivers=per-node"}, "--faults kill_node: cannot apply to testdata/tiny.yaml: every one of the 3 nodes hosts a driver"},
		{[]string{noActors, "--faults", "kill_actor"}, "--faults kill_actor: cannot apply to " + noActors + ": no workload entry creates the actors it kills"},
	} {
		code, out, errOut := call(t, append(append([]string{"check"}, tc.args...), "--runs", "2", "--progress", "off", "-o", t.TempDir())...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	code, out, errOut := call(t, "check", noActors, "--runs", "2", "--progress", "off", "-o", t.TempDir())
	if code != exitOK || !strings.Contains(errOut, "note: not drawing kill_actor: no workload entry creates the actors") {
		t.Errorf("default kinds: exit %d\n%s\n%s", code, out, errOut)
	}
}

// QA qa28 item 20: --max-faults 0 still said "random fault schedules".
func TestCheckMaxFaultsZeroSaysNoFaults(t *testing.T) {
	t.Parallel()
	code, out, errOut := call(t, "check", "testdata/tiny.yaml", "--runs", "2", "--max-faults", "0", "--progress", "off", "-o", t.TempDir())
	if code != exitOK || !strings.HasPrefix(out, "PASS tiny: 2 runs without faults (random seeds), no invariant violated") ||
		strings.Contains(out, "fault schedules") || strings.Contains(out, "faults    ") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}
