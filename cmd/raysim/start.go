package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"raysim/runtime/deploy"
	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/workload"
)

func init() {
	register(&command{name: "start", summary: "start a head (--head) or join a node (--address) of a live cluster", run: cmdStart})
}

// readyFDEnv tells a detached child which file descriptor to report
// readiness on.
const readyFDEnv = "RAYSIM_READY_FD"

type startFlags struct {
	head                      bool
	address                   string
	port                      int
	portSet                   bool // --port given (a node's --port 7379 is 7379, not "any")
	host, advertise, name     string
	cpus, gpus                float64
	resources                 multiFlag
	objectStore               string
	objectSpill               string
	tokenFile                 string
	tlsCert, tlsKey, tlsCA    string
	detach                    bool
	gcsShards, gcsReplicas    int
	gcsDir, policy            string
	spillThreshold            int
	nodeTimeout, heartbeat    time.Duration
	drainTimeout, joinTimeout time.Duration
	headTimeout               time.Duration
	logLevel                  string
	seed                      int64
}

// headOnlyFlags and nodeOnlyFlags are raysim start's flags of one role
// (their help begins "head:" or "node:"); given to the other, they are
// refused rather than ignored.
var (
	headOnlyFlags = []string{"gcs-shards", "gcs-replicas", "gcs-dir", "policy", "spill-threshold", "node-timeout", "heartbeat", "seed"}
	nodeOnlyFlags = []string{"join-timeout", "head-timeout"}
)

func stateDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".raysim")
}

// newStartFlagSet defines raysim start's flags on a new flag set, storing
// into f. It is separate from cmdStart so detachArgs (and its tests) can ask
// which flags take a value.
func newStartFlagSet(f *startFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.head, "head", false, "start the head: the coordinator, the GCS, the global scheduler and a node")
	fs.StringVar(&f.address, "address", "", "join the cluster whose head listens at HOST:PORT")
	fs.IntVar(&f.port, "port", deploy.DefaultPort, "head: the coordinator's port; node: its raylet's port (0: any)")
	fs.StringVar(&f.host, "host", "", "the address to listen on (head default 127.0.0.1: loopback only; node default: the address that routes to the head; 0.0.0.0 or ::: every interface)")
	fs.StringVar(&f.advertise, "advertise", "", "the host other machines use to reach this one (default: --host; for 0.0.0.0 or ::, the machine's primary address, or a node's address on the route to the head, with a warning)")
	fs.StringVar(&f.name, "name", "", "this node's name, as scenarios' faults name it (head default \"head\"; node default assigned)")
	fs.Float64Var(&f.cpus, "cpus", float64(runtime.NumCPU()), "CPUs this node offers")
	fs.Float64Var(&f.gpus, "gpus", 0, "GPUs this node offers")
	fs.Var(&f.resources, "resources", "a custom resource, name=amount (repeatable, or comma-separated)")
	fs.StringVar(&f.objectStore, "object-store", "", "object store capacity, e.g. 2GiB (default unbounded)")
	fs.StringVar(&f.objectSpill, "object-spill", "", "spill tier capacity, e.g. 16GiB: primary copies spill there instead of the store going over capacity (default none; needs --object-store; the bytes stay in memory)")
	fs.StringVar(&f.tokenFile, "token-file", "", "the cluster token file; given, it beats $RAYSIM_TOKEN (default: $RAYSIM_TOKEN, else $HOME/.raysim/token, which the head generates if missing)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "TLS: this process's certificate (PEM); with --tls-key and --tls-ca, every connection is mutual TLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "TLS: this process's private key (PEM)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "TLS: the CA certificate that signs every member's (PEM)")
	fs.BoolVar(&f.detach, "detach", false, "run in the background (log to $HOME/.raysim/logs; raysim stop ends it)")
	fs.IntVar(&f.gcsShards, "gcs-shards", 1, "head: GCS shards")
	fs.IntVar(&f.gcsReplicas, "gcs-replicas", 1, "head: replicas per GCS shard (a chain)")
	fs.StringVar(&f.gcsDir, "gcs-dir", "", "head: keep the GCS tables in bbolt files in this directory (default in memory)")
	fs.StringVar(&f.policy, "policy", "bottom-up", "head: scheduling policy")
	fs.IntVar(&f.spillThreshold, "spill-threshold", 8, "head: local queue length past which a node spills tasks")
	fs.DurationVar(&f.nodeTimeout, "node-timeout", 3*time.Second, "head: silence before a node is declared dead")
	fs.DurationVar(&f.heartbeat, "heartbeat", 100*time.Millisecond, "head: heartbeat period")
	fs.Int64Var(&f.seed, "seed", 0, "head: cluster seed (0: none)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM, how long a node may take to finish its work")
	fs.DurationVar(&f.joinTimeout, "join-timeout", 15*time.Second, "node: how long to wait for the head")
	fs.DurationVar(&f.headTimeout, "head-timeout", 30*time.Second,
		"node: exit with status 1 once the head has not listed this node for this long (it died, or restarted without it): a supervisor restarts the node into the cluster")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	return fs
}

func cmdStart(args []string, stdout, stderr io.Writer) int {
	var f startFlags
	fs := newStartFlagSet(&f, stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: raysim start --head [--port 7379] [flags]
       raysim start --address HOST:7379 [flags]

Starts one process of a live cluster and stays in the foreground, logging to
stderr (what systemd and containers want); --detach backgrounds it and
'raysim stop' ends it. The head generates the cluster token into
--token-file (mode 0600) unless it exists; every other process reads it from
--token-file if given, else $RAYSIM_TOKEN, else $HOME/.raysim/token (a head
without --token-file takes $RAYSIM_TOKEN too, if set). SIGTERM drains a node (it finishes its work,
then leaves); a second signal stops it at once. Flags marked "head:" are the
head's alone (a node takes the cluster's settings from its head) and those
marked "node:" a joining node's: either given to the other is refused.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, `
Exit status: 0 after a clean stop, 1 when the process cannot start or join
(cluster unreachable, token refused, function table mismatch, name taken by a
live node) or a node has lost its head (--head-timeout), 2 for bad flags.
`)
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "raysim start: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	f.portSet = given["port"]
	if f.head == (f.address != "") {
		fmt.Fprintln(stderr, "raysim start: give exactly one of --head and --address HOST:PORT")
		return exitUsage
	}
	// A flag of the other role would be ignored: the head decides the
	// cluster's settings, and a head joins nothing.
	for _, name := range headOnlyFlags {
		if f.address != "" && given[name] {
			fmt.Fprintf(stderr, "raysim start: --%s is the head's setting (raysim start --head); a node joining with --address takes the cluster's from its head\n", name)
			return exitUsage
		}
	}
	for _, name := range nodeOnlyFlags {
		if f.head && given[name] {
			fmt.Fprintf(stderr, "raysim start: --%s is a joining node's setting (raysim start --address); a head joins nothing\n", name)
			return exitUsage
		}
	}
	if err := checkStartValues(&f); err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitUsage
	}
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(stderr, "raysim start: --log-level %q: %v\n", f.logLevel, err)
		return exitUsage
	}
	node := ray.NodeConfig{Name: f.name, CPUs: f.cpus, GPUs: f.gpus}
	if len(f.resources) > 0 {
		node.Resources = map[string]float64{}
		for _, spec := range f.resources {
			for _, kv := range strings.Split(spec, ",") {
				k, v, ok := strings.Cut(kv, "=")
				amt, err := strconv.ParseFloat(v, 64)
				if !ok || k == "" || err != nil {
					fmt.Fprintf(stderr, "raysim start: --resources %q: want name=amount\n", kv)
					return exitUsage
				}
				if err := transport.CheckAmount(amt); err != nil {
					fmt.Fprintf(stderr, "raysim start: --resources %q: %v\n", kv, err)
					return exitUsage
				}
				if k == "CPU" || k == "GPU" {
					fmt.Fprintf(stderr, "raysim start: --resources %q: %s is not a custom resource: give it with --%ss\n", kv, k, strings.ToLower(k))
					return exitUsage
				}
				node.Resources[k] = amt
			}
		}
	}
	if f.objectStore != "" {
		n, err := scenarios.ParseSize(f.objectStore)
		if err != nil {
			fmt.Fprintf(stderr, "raysim start: --object-store %q: %v\n", f.objectStore, err)
			return exitUsage
		}
		node.ObjectStoreBytes = n
	}
	if f.objectSpill != "" {
		n, err := scenarios.ParseSize(f.objectSpill)
		if err != nil {
			fmt.Fprintf(stderr, "raysim start: --object-spill: %v\n", err)
			return exitUsage
		}
		node.ObjectSpillBytes = n
	}
	for _, a := range []struct {
		flag string
		v    float64
	}{{"--cpus", f.cpus}, {"--gpus", f.gpus}} {
		if err := transport.CheckAmount(a.v); err != nil {
			fmt.Fprintf(stderr, "raysim start: %s: %v\n", a.flag, err)
			return exitUsage
		}
	}
	if err := node.Check(); err != nil { // what StartHead or JoinNode would refuse, after starting nothing
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitUsage
	}
	tlsCfg, err := tlsFromFlags(f.tlsCert, f.tlsKey, f.tlsCA)
	if err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitUsage
	}
	advWarning, err := defaultAdvertise(&f)
	if err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitUsage
	}
	if f.detach {
		return detach(detachArgs(fs, args), stdout, stderr)
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if advWarning != "" {
		log.Warn("raysim: " + advWarning)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := ray.NewRegistry()
	workload.Register(reg)
	dc := ray.DeployConfig{Advertise: f.advertise, Name: f.name, Node: node, TLS: tlsCfg, Logger: log,
		DrainTimeout: f.drainTimeout, JoinTimeout: f.joinTimeout, HeadTimeout: f.headTimeout}
	var p *ray.Process
	if f.head {
		if dc.Token, err = headToken(f.tokenFile); err != nil {
			fmt.Fprintf(stderr, "raysim start: %v\n", err)
			return exitFailed
		}
		host := f.host
		if host == "" {
			host = "127.0.0.1"
		}
		dc.Listen = net.JoinHostPort(host, strconv.Itoa(f.port))
		dc.Cluster = ray.Config{GCSShards: f.gcsShards, GCSReplicas: f.gcsReplicas, GCSDataDir: f.gcsDir,
			Policy: f.policy, SpillThreshold: f.spillThreshold, NodeTimeout: f.nodeTimeout,
			HeartbeatPeriod: f.heartbeat, Seed: f.seed}
		p, err = ray.StartHead(ctx, dc, reg)
	} else {
		if dc.Token, err = loadToken(f.tokenFile); err != nil {
			fmt.Fprintf(stderr, "raysim start: %v\n", err)
			return exitFailed
		}
		dc.Address = f.address
		if f.host != "" || f.portSet {
			host := f.host
			if host == "" {
				host = deploy.RouteHost(f.address)
			}
			port := f.port
			if !f.portSet {
				port = 0
			}
			dc.Listen = net.JoinHostPort(host, strconv.Itoa(port))
		}
		p, err = ray.JoinNode(ctx, dc, reg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitFailed
	}
	// What other machines use: the listen address under --advertise.
	addr := deploy.Advertised(p.Addr(), f.advertise)
	if f.head {
		src, fromEnv := headTokenSource(f.tokenFile)
		attrs := []any{"address", addr, "node", p.Name()}
		if addr != p.Addr() {
			attrs = append(attrs, "listen", p.Addr())
		}
		if fromEnv {
			attrs = append(attrs, "token_source", "env") // no file: the token is $RAYSIM_TOKEN's
		} else {
			attrs = append(attrs, "token_source", "file", "token_file", src)
		}
		log.Info("raysim: head ready", attrs...)
		how := "copy " + src + " to the other machines, or set " + deploy.TokenEnv + " there"
		if fromEnv {
			how = "with the same $" + deploy.TokenEnv
		}
		fmt.Fprintf(stderr, "raysim: ready: head at %s; join with: raysim start --address %s (%s)\n", addr, addr, how)
	} else {
		attrs := []any{"node", p.Name(), "id", uint32(p.Self()), "address", addr, "head", f.address}
		if addr != p.Addr() {
			attrs = append(attrs, "listen", p.Addr())
		}
		log.Info("raysim: node ready", attrs...)
		fmt.Fprintf(stderr, "raysim: ready: node %s joined %s\n", p.Name(), f.address)
	}
	signalReady()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)
	select {
	case sig := <-sigs:
		log.Info("raysim: stopping: draining", "signal", sig.String())
		done := make(chan struct{})
		go func() {
			p.Shutdown(ctx)
			close(done)
		}()
		select {
		case <-done:
		case <-sigs:
			log.Warn("raysim: second signal: stopping now")
			p.Close()
		}
		log.Info("raysim: stopped")
		return exitOK
	case err := <-p.Err():
		if errors.Is(err, ray.ErrHeadLost) {
			log.Error("raysim: lost the head: exiting (restart this node to join the cluster again)", "err", err)
		} else {
			log.Error("raysim: endpoint failed", "err", err)
		}
		p.Close()
		return exitFailed
	}
}

// headTokenSource says where a head takes its token from, by headToken's
// rule: $RAYSIM_TOKEN (fromEnv) when it is set and no --token-file
// (tokenFile) is given, else the file it names.
func headTokenSource(tokenFile string) (file string, fromEnv bool) {
	if tokenFile != "" {
		return tokenFile, false
	}
	if strings.TrimSpace(os.Getenv(deploy.TokenEnv)) != "" {
		return "", true
	}
	return deploy.DefaultTokenPath(), false
}

// defaultAdvertise picks the host to advertise for a process that listens
// on every interface (--host 0.0.0.0 or ::) without --advertise: the
// address book would otherwise publish the unspecified address, which
// other machines cannot dial, and the join line would name it. A node
// advertises its address on the route to the head, unless that is
// loopback; otherwise (and for the head) the machine's primary address
// (deploy.PrimaryHost). It sets f.advertise and returns a warning to log;
// with no usable address it fails, asking for --advertise.
func defaultAdvertise(f *startFlags) (warning string, err error) {
	ip := net.ParseIP(f.host)
	if f.advertise != "" || ip == nil || !ip.IsUnspecified() {
		return "", nil
	}
	host, why := "", "this machine's primary address"
	if f.address != "" {
		if r := net.ParseIP(deploy.RouteHost(f.address)); r != nil && !r.IsLoopback() && !r.IsUnspecified() {
			host, why = r.String(), "the address on the route to the head"
		}
	}
	if host == "" {
		host = deploy.PrimaryHost()
	}
	if host == "" {
		return "", fmt.Errorf("--host %s listens on every interface, and this machine has no address other machines could reach it at: pass --advertise HOST, the address they use", f.host)
	}
	f.advertise = host
	return fmt.Sprintf("--host %s without --advertise: advertising %s, %s; pass --advertise HOST if other machines reach this one at another address", f.host, host, why), nil
}

// checkStartValues refuses, naming the flag, a value raysim start's flags
// cannot take, before anything is done (a token generated, a join tried):
// the runtime would replace some by its defaults without a word (a zero or
// negative count or timeout) and refuse others only once the process is
// starting, as a failure to start rather than a bad flag.
func checkStartValues(f *startFlags) error {
	if f.port < 0 || f.port > 65535 {
		return fmt.Errorf("--port %d: want 0 (any) to 65535", f.port)
	}
	if f.address != "" {
		if err := checkHeadAddress(f.address); err != nil {
			return fmt.Errorf("--address %q: %v", f.address, err)
		}
	}
	for _, h := range []struct{ flag, v string }{{"--host", f.host}, {"--advertise", f.advertise}} {
		if h.v != "" && net.ParseIP(h.v) == nil && strings.ContainsAny(h.v, ":/[]@ ") {
			return fmt.Errorf("%s %q: want a host name or IP address, without a port", h.flag, h.v)
		}
	}
	if f.objectStore != "" {
		if n, err := scenarios.ParseSize(f.objectStore); err == nil && n == 0 {
			return fmt.Errorf("--object-store %q: want a positive size (without the flag: unbounded)", f.objectStore)
		}
	}
	if f.objectSpill != "" {
		if n, err := scenarios.ParseSize(f.objectSpill); err == nil && n == 0 {
			return fmt.Errorf("--object-spill %q: want a positive size (without the flag: no spill tier)", f.objectSpill)
		}
		if f.objectStore == "" {
			return fmt.Errorf("--object-spill %q: needs --object-store (an unbounded store never spills)", f.objectSpill)
		}
	}
	for _, c := range []struct {
		flag   string
		v, max int
	}{
		{"--gcs-shards", f.gcsShards, ray.MaxGCSShards},
		{"--gcs-replicas", f.gcsReplicas, ray.MaxGCSReplicas},
		{"--spill-threshold", f.spillThreshold, math.MaxInt32},
	} {
		if c.v < 1 || c.v > c.max {
			return fmt.Errorf("%s %d: want 1 to %d", c.flag, c.v, c.max)
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--node-timeout", f.nodeTimeout}, {"--heartbeat", f.heartbeat},
		{"--drain-timeout", f.drainTimeout}, {"--join-timeout", f.joinTimeout}, {"--head-timeout", f.headTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s %v: want a positive duration", d.flag, d.v)
		}
	}
	if f.nodeTimeout < 2*f.heartbeat {
		return fmt.Errorf("--node-timeout %v: want at least two --heartbeat periods (%v), or live nodes are declared dead between heartbeats", f.nodeTimeout, 2*f.heartbeat)
	}
	if _, err := scheduler.NewPolicy(f.policy); err != nil {
		return fmt.Errorf("--policy %q: want one of %s", f.policy, strings.Join(scheduler.PolicyNames(), ", "))
	}
	return nil
}

func tlsFromFlags(cert, key, ca string) (*tls.Config, error) {
	if cert == "" && key == "" && ca == "" {
		return nil, nil
	}
	if cert == "" || key == "" || ca == "" {
		return nil, errors.New("TLS needs all of --tls-cert, --tls-key and --tls-ca")
	}
	return deploy.TLSConfig(cert, key, ca)
}

// signalReady tells a waiting `raysim start --detach` parent that this
// process is up.
func signalReady() {
	fdStr := os.Getenv(readyFDEnv)
	if fdStr == "" {
		return
	}
	fd, err := strconv.Atoi(fdStr)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "ready")
	if f == nil {
		return
	}
	f.WriteString("ready\n")
	f.Close()
}

// detachArgs rewrites the arguments of a `raysim start --detach` for the
// background child so that it cannot detach again (which would spawn
// children forever): every -detach/--detach[=value] flag is dropped, in any
// spelling the flag package accepts (=1, =t, =TRUE, ...), and --detach=false
// is added last among the flags so that it wins even over a spelling this
// function failed to recognise. fs is the flag set args parsed with: it
// tells which flags take their value from the next argument, so that a value
// that happens to read "-detach" (--name -detach) is kept, not dropped.
func detachArgs(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args)+1)
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break // the terminator or a positional argument: flags end here
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		name, _, hasValue := strings.Cut(name, "=")
		i++
		if name == "detach" {
			continue
		}
		out = append(out, a)
		if hasValue {
			continue
		}
		fl := fs.Lookup(name)
		if fl == nil {
			continue
		}
		if bf, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i < len(args) {
			out = append(out, args[i]) // the flag's value, whatever it reads
			i++
		}
	}
	out = append(out, "--detach=false")
	return append(out, args[i:]...)
}

// detach re-runs `raysim start` with childArgs (see detachArgs: they must
// not detach again) in a new session, its output in a log file, and waits
// until it reports ready (or exits). It records the child's pid for raysim
// stop.
func detach(childArgs []string, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitFailed
	}
	dir := stateDir()
	for _, d := range []string{filepath.Join(dir, "logs"), filepath.Join(dir, "pids")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			fmt.Fprintf(stderr, "raysim start: %v\n", err)
			return exitFailed
		}
	}
	logPath := filepath.Join(dir, "logs", fmt.Sprintf("raysim-%s-%d.log", time.Now().Format("20060102-150405"), os.Getpid()))
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitFailed
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitFailed
	}
	cmd := exec.Command(exe, append([]string{"start"}, childArgs...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), readyFDEnv+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "raysim start: %v\n", err)
		return exitFailed
	}
	w.Close()
	pidPath := filepath.Join(dir, "pids", fmt.Sprintf("%d.pid", cmd.Process.Pid))
	os.WriteFile(pidPath, []byte(strings.Join(append([]string{"start"}, childArgs...), " ")+"\n"), 0o600)
	line, _ := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if strings.TrimSpace(line) != "ready" {
		cmd.Wait()
		os.Remove(pidPath)
		fmt.Fprintf(stderr, "raysim start: the background process exited before it was ready; see %s\n", logPath)
		tail(stderr, logPath)
		return exitFailed
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	fmt.Fprintf(stdout, "raysim: started in the background (pid %d), log %s; stop with: raysim stop\n", pid, logPath)
	return exitOK
}

// tail copies the last lines of a log to w.
func tail(w io.Writer, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
}
