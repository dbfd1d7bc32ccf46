package traces

import (
	"runtime/debug"
	"testing"
)

// TestVersionOf: the version stamped in traces repeated the revision a
// pseudo-version already holds (v0.0.0-2026...-335f8fb8ff04+335f8fb8ff04),
// did not say the tree was modified, and was "devel" for every build
// without VCS information (-buildvcs=false), so two builds of different
// commits read as one version.
func TestVersionOf(t *testing.T) {
	setting := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	rev := "335f8fb8ff04aaaabbbbccccddddeeeeffff0000"
	bin := func() string { return "0badc0de" }
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"pseudo-version", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129152536-335f8fb8ff04"},
			Settings: setting("vcs.revision", rev, "vcs.modified", "false")}, "v0.0.0-20261129152536-335f8fb8ff04"},
		{"pseudo-version, dirty", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129152536-335f8fb8ff04"},
			Settings: setting("vcs.revision", rev, "vcs.modified", "true")}, "v0.0.0-20261129152536-335f8fb8ff04+dirty"},
		{"go's own +dirty", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129152536-335f8fb8ff04+dirty"},
			Settings: setting("vcs.revision", rev, "vcs.modified", "true")}, "v0.0.0-20261129152536-335f8fb8ff04+dirty"},
		{"devel with VCS", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: setting("vcs.revision", rev, "vcs.modified", "true")}, "devel+335f8fb8ff04+dirty"},
		{"no VCS", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel+bin-0badc0de"},
		{"no build info", nil, "devel+bin-0badc0de"},
	} {
		if got := versionOf(c.bi, bin); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if v := RaysimVersion(); v == "devel" || v == "" {
		t.Errorf("RaysimVersion %q identifies no build", v)
	}
}
