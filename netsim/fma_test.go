package netsim

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestSampleNotFusedOnArm64: the same seed must give the same
// digest on every machine, but Go may fuse x*y+z into one FMA instruction
// on arm64 (and ppc64le, s390x, riscv64), which rounds once instead of
// twice. amd64 (GOAMD64=v1) never fuses. Dist.Sample's normal and
// log-normal draws (netsim link latency) and scenarios.Dist.Sample's
// uniform, normal and log-normal draws (task durations, object sizes) are
// of that shape, so an arm64 build computes a different float for some
// draws; when it straddles a nanosecond (or byte) boundary, the duration
// differs, and so does the digest. An explicit float64(...) conversion
// around the product forbids fusion (Go spec, "Arithmetic operators").
//
// (Found: uniform 5ms..15ms, u = 0.8294579499999999: 5e6 + u*1e7 rounds
// to 13294580 ns unfused, 13294579 ns fused; about one uniform draw in 2e9.)
// The test cross-compiles the two packages for arm64 and looks for fused
// multiply-add instructions in the two Sample methods.
func TestSampleNotFusedOnArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	dir := t.TempDir()
	fused := regexp.MustCompile(`(?m)^\s+(\S+:\d+)\s.*\b(FMADDD|FMSUBD|FNMADDD|FNMSUBD)\b`)
	for _, c := range []struct{ pkg, sym string }{
		{"raysim/netsim", `^raysim/netsim\.Dist\.Sample$`},
		{"raysim/scenarios", `^raysim/scenarios\.Dist\.Sample$`},
	} {
		out := filepath.Join(dir, filepath.Base(c.pkg)+".a")
		build := exec.Command(goTool, "build", "-o", out, c.pkg)
		build.Env = append(os.Environ(), "GOARCH=arm64", "GOOS=linux")
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("cross-build %s: %v\n%s", c.pkg, err, b)
		}
		dis, err := exec.Command(goTool, "tool", "objdump", "-s", c.sym, out).CombinedOutput()
		if err != nil {
			t.Fatalf("objdump %s: %v\n%s", c.pkg, err, dis)
		}
		for _, m := range fused.FindAllStringSubmatch(string(dis), -1) {
			t.Errorf("%s: %s compiles to %s on arm64: an arm64 build may round this draw differently from amd64 (so a seed may give another digest)", c.sym, m[1], m[2])
		}
	}
}
