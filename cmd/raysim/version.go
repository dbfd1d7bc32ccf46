package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"raysim/runtime/transport"
	"raysim/traces"
)

func init() {
	register(&command{name: "version", summary: "print this binary's version, VCS revision, Go version and wire protocol",
		run: cmdVersion})
}

// versionInfo is what `raysim version` prints: enough to tell whether two
// machines run the same binary (a live cluster needs it: docs/deploy.md)
// and to name the build in a bug report.
type versionInfo struct {
	// Version is the version traces stamp (traces.RaysimVersion): the
	// module version, the VCS revision, +dirty, or devel+bin-CRC.
	Version string `json:"version"`
	// Module is the main module's path and version as Go stamped them.
	Module        string `json:"module"`
	ModuleVersion string `json:"module_version"`
	// Revision, Time and Modified are the VCS settings of the build
	// ("" and false when it had none: -buildvcs=false, a build outside a
	// checkout).
	Revision string `json:"vcs_revision,omitempty"`
	Time     string `json:"vcs_time,omitempty"`
	Modified bool   `json:"vcs_modified,omitempty"`
	Go       string `json:"go"`
	// Protocol is the wire protocol version (transport.ProtocolVersion):
	// nodes of a live cluster must agree on it.
	Protocol int `json:"protocol"`
}

// buildVersion reads this binary's build information.
func buildVersion() versionInfo {
	v := versionInfo{Version: traces.RaysimVersion(), Protocol: transport.ProtocolVersion}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Module, v.ModuleVersion, v.Go = bi.Main.Path, bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print it as JSON")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim version [--json]   (also: raysim --version)

Prints this binary's version (as traces stamp it: the module version, the
VCS revision and +dirty, or devel+bin- and a CRC of the executable for a
build without VCS information), the module, the VCS revision and time, the
Go version and the wire protocol version, which a live cluster's nodes and
drivers must share.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Exit status: 0, or 2 for bad flags.
`)
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "raysim version: unexpected argument %q\nRun 'raysim version -h' for usage.\n", fs.Arg(0))
		return exitUsage
	}
	v := buildVersion()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "raysim version: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "raysim %s\n", v.Version)
	if v.Module != "" {
		fmt.Fprintf(stdout, "module   %s %s\n", v.Module, v.ModuleVersion)
	}
	if v.Revision != "" {
		dirty := ""
		if v.Modified {
			dirty = " (modified tree)"
		}
		fmt.Fprintf(stdout, "revision %s%s %s\n", v.Revision, dirty, v.Time)
	} else {
		fmt.Fprintf(stdout, "revision none (built without VCS information)\n")
	}
	if v.Go != "" {
		fmt.Fprintf(stdout, "go       %s\n", v.Go)
	}
	fmt.Fprintf(stdout, "protocol %d\n", v.Protocol)
	return exitOK
}
