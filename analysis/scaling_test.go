package analysis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// TestAutoscalerDecisionsAreNoFaults: an autoscaler's launches and
// terminations (ray.Sim.Launch, Terminate: a restart and a crash marked
// netsim.DetailLaunched, DetailTerminated) are not faults in the analysis
// nor in the Chrome export (QA: the faults table had a row for each, with
// detection times credited to the wrong termination, and Chrome marked
// them as faults).
func TestAutoscalerDecisionsAreNoFaults(t *testing.T) {
	s, err := scenarios.LoadWithOverrides("../scenarios/autoscaling.yaml", []string{"workload.0.params.tasks=8",
		"workload.1.params.tasks=2", "workload.1.start=50s", "cluster.nodes.1.autoscale.idle_timeout=10s", "duration_limit=2m"})
	require.NoError(t, err)
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: s.File, Scenario: yaml, Seed: s.Seed}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	res, err := runner.Run(context.Background(), s, runner.Options{Trace: rec})
	require.NoError(t, err)
	require.True(t, res.OK)
	require.NoError(t, rec.Close())

	r, err := traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rep, err := analysis.Analyze(r)
	require.NoError(t, err)
	assert.Empty(t, rep.Faults, "launches and terminations are no faults")

	r, err = traces.NewReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, traces.WriteChrome(&out, r))
	var f struct {
		TraceEvents []struct {
			Name string `json:"name"`
			Cat  string `json:"cat"`
		} `json:"traceEvents"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &f))
	scaling := 0
	for _, e := range f.TraceEvents {
		if e.Cat == "fault" {
			t.Errorf("a fault marker in a run without faults: %q", e.Name)
		}
		if e.Cat == "scaling" && (strings.HasPrefix(e.Name, "launch ") || strings.HasPrefix(e.Name, "terminate ") || strings.HasPrefix(e.Name, "autoscaler ")) {
			scaling++
		}
	}
	assert.Positive(t, scaling, "the autoscaler's markers")
}
