package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	register(&command{name: "stop", summary: "stop the processes raysim start --detach started on this machine",
		run: cmdStop})
}

func cmdStop(args []string, stdout, stderr io.Writer) int {
	var force bool
	var timeout time.Duration
	fs := flag.NewFlagSet("stop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&force, "force", false, "kill (SIGKILL) processes still running after --timeout")
	fs.DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for each process to drain and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: raysim stop [flags]\n\nSends SIGTERM to every process `raysim start --detach` started for this user\n(pid files in $HOME/.raysim/pids): nodes drain and leave, then exit.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExit status: 0 when every process stopped, 1 when one is still running, 2 for bad flags.\n")
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "raysim stop: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	files, _ := filepath.Glob(filepath.Join(stateDir(), "pids", "*.pid"))
	type proc struct {
		pid  int
		path string
	}
	var procs []proc
	for _, f := range files {
		pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(f), ".pid"))
		if err != nil || !isRaysim(pid) {
			os.Remove(f) // stale: gone, or the pid was reused by something else
			continue
		}
		procs = append(procs, proc{pid, f})
	}
	// Nodes first, the head last: nodes drain while the head still runs.
	headLast := func(p proc) bool {
		b, _ := os.ReadFile(p.path)
		return startedHead(string(b))
	}
	var order []proc
	for _, p := range procs {
		if !headLast(p) {
			order = append(order, p)
		}
	}
	for _, p := range procs {
		if headLast(p) {
			order = append(order, p)
		}
	}
	if len(order) == 0 {
		fmt.Fprintln(stdout, "raysim stop: no raysim processes started with --detach are running")
		return exitOK
	}
	code := exitOK
	for _, p := range order {
		syscall.Kill(p.pid, syscall.SIGTERM)
		if waitGone(p.pid, timeout) {
			fmt.Fprintf(stdout, "stopped pid %d\n", p.pid)
			os.Remove(p.path)
			continue
		}
		if force {
			syscall.Kill(p.pid, syscall.SIGKILL)
			if waitGone(p.pid, 5*time.Second) {
				fmt.Fprintf(stdout, "killed pid %d\n", p.pid)
				os.Remove(p.path)
				continue
			}
		}
		fmt.Fprintf(stderr, "raysim stop: pid %d still running after %v (use --force)\n", p.pid, timeout)
		code = exitFailed
	}
	return code
}

// isRaysim reports whether pid is alive and, where /proc tells, runs a
// raysim binary.
func isRaysim(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true // no /proc: trust the pid file
	}
	return strings.Contains(string(cmd), "start")
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return syscall.Kill(pid, 0) != nil
}

// startedHead reports whether a pid file's command line ("start" and the
// child's flags) starts a head: its flags are parsed as start parses them,
// so -head and -head=true count as --head does.
func startedHead(line string) bool {
	args := strings.Fields(line)
	if len(args) == 0 || args[0] != "start" {
		return false
	}
	var f startFlags
	fs := newStartFlagSet(&f, io.Discard)
	if err := fs.Parse(args[1:]); err != nil {
		return strings.Contains(line, "--head") // a line this binary cannot parse: the old test
	}
	return f.head
}
