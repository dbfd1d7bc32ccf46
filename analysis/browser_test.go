package analysis_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/analysis"
)

// chromium finds Debian's chromium (.ci/run installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it): the HTML report is not checked in a browser")
	return ""
}

var statusRE = regexp.MustCompile(`id="load-status"[^>]*data-images="(\d+)"[^>]*data-decoded="(\d+)"|id="load-status"[^>]*data-decoded="(\d+)"[^>]*data-images="(\d+)"`)

// TestReportInBrowser opens report.html in headless chromium and checks the
// page loaded, its script ran, and every inlined plot decoded.
func TestReportInBrowser(t *testing.T) {
	bin := chromium(t)
	a, b := quickstart(t), crashRestart(t)
	for _, tc := range []struct {
		name string
		reps []*analysis.Report
		figs int
	}{
		{"single", []*analysis.Report{a.rep}, 5},
		{"compare", []*analysis.Report{a.rep, b.rep}, 3 + 2*5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, err := analysis.WriteReport(filepath.Join(dir, "report"), tc.reps...)
			require.NoError(t, err)
			abs, err := filepath.Abs(path)
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
				"--disable-background-networking", "--disable-component-update", "--no-first-run",
				"--disable-sync", "--disable-dev-shm-usage", "--user-data-dir="+filepath.Join(dir, "profile"),
				"--virtual-time-budget=5000", "--dump-dom", "file://"+abs)
			out, err := cmd.Output()
			require.NoError(t, err, "chromium failed: %v", err)
			dom := string(out)
			require.Contains(t, dom, `id="raysim-report"`, "the report's marker element is in the DOM")
			m := statusRE.FindStringSubmatch(dom)
			require.NotNil(t, m, "the page's load script ran (load-status filled in)")
			images, decoded := m[1], m[2]
			if images == "" {
				decoded, images = m[3], m[4]
			}
			n, _ := strconv.Atoi(images)
			assert.Equal(t, tc.figs, n, "plots in the page")
			assert.Equal(t, images, decoded, "every plot decoded in the browser")
		})
	}
}
