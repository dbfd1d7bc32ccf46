package analysis_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
	"raysim/netsim"
	"raysim/traces"
)

var faultRowRE = regexp.MustCompile(`(?s)<tr><td>[^<]*</td><td class="l">(\w+)</td>.*?</tr>`)
var cellRE = regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)

// htmlFaultRows reads the HTML report's fault table: kind -> its cells.
func htmlFaultRows(t *testing.T, rep *analysis.Report) map[string][]string {
	t.Helper()
	path, err := analysis.WriteReport(t.TempDir(), rep)
	require.NoError(t, err)
	html, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(html)
	i := strings.Index(s, `<table class="faults">`)
	require.GreaterOrEqual(t, i, 0, "a fault table")
	s = s[i : i+strings.Index(s[i:], "</table>")]
	rows := map[string][]string{}
	for _, m := range faultRowRE.FindAllStringSubmatch(s, -1) {
		var cells []string
		for _, c := range cellRE.FindAllStringSubmatch(m[0], -1) {
			cells = append(cells, c[1])
		}
		rows[m[1]] = cells
	}
	return rows
}

// TestHTMLRestartRowsShowNoRates: a restart (or heal) is no fault, and has
// no baseline, dip or recovery: the text shows "-" there, but the HTML
// report showed 0 tasks/s for its baseline and dip. Likewise a fault
// nothing ended after has no dip.
func TestHTMLRestartRowsShowNoRates(t *testing.T) {
	recs := append(steady(600),
		traces.Record{At: ms(200), Source: traces.Net, Kind: uint8(netsim.EvCrash), Node: 2, Peer: 2},
		traces.Record{At: ms(300), Source: traces.Net, Kind: uint8(netsim.EvRestart), Node: 2, Peer: 2},
		traces.Record{At: ms(650), Source: traces.Net, Kind: uint8(netsim.EvPause), Node: 2, Peer: 2, Bytes: int64(ms(5))})
	rep := synth(t, twoNodes, sorted(recs))
	rows := htmlFaultRows(t, rep)
	// at, fault, node, detail, detected after, baseline, dip, recovered after
	require.Len(t, rows["restart"], 8, "%v", rows)
	assert.Equal(t, []string{"-", "-", "-", "-"}, rows["restart"][4:], "restart: no detection, rates or recovery")
	require.Len(t, rows["crash"], 8, "%v", rows)
	assert.NotEqual(t, "-", rows["crash"][5], "the crash has a baseline")
	require.Len(t, rows["pause"], 8, "%v", rows)
	assert.Equal(t, "-", rows["pause"][6], "nothing ended after the pause: no dip")
}
