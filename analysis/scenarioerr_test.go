package analysis_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/runtime/transport"
	"raysim/traces"
)

// TestScenarioErrSurfaced: a trace whose header holds a scenario that does
// not parse (written by another raysim version, say) is still analyzed
// from its records, but the error was dropped: the report showed no
// scenario, no policy and nodes named node-N with 1 CPU each, and did not
// say why. It is Report.ScenarioErr (in JSON too), and the text says it.
func TestScenarioErrSurfaced(t *testing.T) {
	rep := synth(t, "name: [unclosed\ncluster: {nodes: 3}\n", []traces.Record{
		rt(0, transport.EvTaskSubmitted, 1, 0, 0x100, "f"),
		rt(ms(10), transport.EvTaskFinished, 1, 0, 0x100, "f"),
	})
	require.NotEmpty(t, rep.ScenarioErr, "the header's scenario does not parse")
	assert.Equal(t, uint64(1), rep.Tasks.Completed, "the records are analyzed all the same")
	js, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(js), `"ScenarioErr":`), "in the JSON")
	var out bytes.Buffer
	require.NoError(t, analysis.WriteText(&out, rep))
	assert.True(t, strings.Contains(out.String(), rep.ScenarioErr), "the text says why: %s", out.String()[:300])
	dir := t.TempDir()
	path, err := analysis.WriteReport(dir, rep)
	require.NoError(t, err)
	checkReportFiles(t, dir, path, []string{"throughput"})
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(html), `id="scenario-error"`), "the HTML says it")

	out.Reset()
	require.NoError(t, analysis.WriteCompare(&out, rep, rep))
	assert.True(t, strings.Contains(out.String(), "A's header scenario cannot be read"), "the comparison says it")

	ok := synth(t, twoNodes, nil)
	assert.Empty(t, ok.ScenarioErr)
	js, err = json.Marshal(ok)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(js), `"ScenarioErr"`), "omitted when the scenario parses")
}
