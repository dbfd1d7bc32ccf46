package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"raysim/runtime/deploy"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/runner"
)

func init() {
	register(&command{name: "status", summary: "list a live cluster's nodes, resources, load and liveness",
		run: cmdStatus})
}

// clusterFlags are the flags every command that talks to a live cluster
// shares.
type clusterFlags struct {
	address, tokenFile     string
	tlsCert, tlsKey, tlsCA string
}

func (c *clusterFlags) add(fs *flag.FlagSet) {
	fs.Var(addressFlag{&c.address}, "address", "the head of a live cluster, `HOST:PORT` (raysim start --head)")
	fs.StringVar(&c.tokenFile, "token-file", "", "the cluster token file; given, it beats $RAYSIM_TOKEN (default: $RAYSIM_TOKEN, else $HOME/.raysim/token)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS: this process's certificate (PEM)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS: this process's private key (PEM)")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "TLS: the cluster's CA certificate (PEM)")
}

func (c *clusterFlags) token() ([]byte, error) { return loadToken(c.tokenFile) }

// loadToken finds the token of a process that joins or queries a cluster.
// The one rule of every command: an explicit --token-file (tokenFile) beats
// the environment, as a flag on the command line normally does; without
// it $RAYSIM_TOKEN, else $HOME/.raysim/token.
func loadToken(tokenFile string) ([]byte, error) {
	if tokenFile != "" {
		return deploy.LoadTokenFile(tokenFile)
	}
	return deploy.LoadToken("")
}

// headToken finds the token of a head, by loadToken's rule, except that a
// missing token file is generated (see deploy.GenerateToken): --token-file
// if given, else $RAYSIM_TOKEN, else $HOME/.raysim/token.
func headToken(tokenFile string) ([]byte, error) {
	if tokenFile == "" {
		if v := strings.TrimSpace(os.Getenv(deploy.TokenEnv)); v != "" {
			return []byte(v), nil
		}
		tokenFile = deploy.DefaultTokenPath()
	}
	return deploy.GenerateToken(tokenFile)
}

type statusNode struct {
	ID          uint32             `json:"id"`
	Name        string             `json:"name"`
	Role        string             `json:"role"`
	Address     string             `json:"address"`
	Alive       bool               `json:"alive"`
	Incarnation uint64             `json:"incarnation"`
	Total       map[string]float64 `json:"total"`
	Available   map[string]float64 `json:"available"`
	QueueLen    uint32             `json:"queue_len"`
	LastSeenMs  float64            `json:"last_heartbeat_ms"`
	// The node's measured means, as its last heartbeat gave them to the
	// global scheduler (0 until measured).
	MeanTaskMs        float64 `json:"mean_task_ms"`
	MeanPullBytesPerS uint64  `json:"mean_pull_bytes_per_s"`
	// The node's object store as its last report gave it (Ray's `ray
	// status` object store memory): bytes its copies take, its capacity
	// (0: unbounded), its primary copies (made there, kept until freed),
	// and its spill tier's bytes and capacity (0: none).
	StoreUsedBytes     int64  `json:"object_store_used_bytes"`
	StoreCapacityBytes int64  `json:"object_store_capacity_bytes"`
	StorePrimaries     uint64 `json:"object_store_primaries"`
	SpilledBytes       int64  `json:"spilled_bytes"`
	SpillCapacityBytes int64  `json:"spill_capacity_bytes"`
}

// storeTotal is the cluster's object store, summed over its live nodes
// (a dead node's copies are gone): `raysim status`'s last line, and
// "object_store" in its JSON.
type storeTotal struct {
	UsedBytes     int64  `json:"used_bytes"`
	CapacityBytes int64  `json:"capacity_bytes"` // of the bounded stores
	Unbounded     int    `json:"unbounded_stores"`
	Primaries     uint64 `json:"primaries"`
	SpilledBytes  int64  `json:"spilled_bytes"`
	Nodes         int    `json:"nodes"` // the live nodes summed
}

// sumStores adds up the live nodes' stores.
func sumStores(nodes []statusNode) storeTotal {
	var t storeTotal
	for _, n := range nodes {
		if !n.Alive {
			continue
		}
		t.Nodes++
		t.UsedBytes += n.StoreUsedBytes
		t.CapacityBytes += n.StoreCapacityBytes
		if n.StoreCapacityBytes == 0 {
			t.Unbounded++
		}
		t.Primaries += n.StorePrimaries
		t.SpilledBytes += n.SpilledBytes
	}
	return t
}

// memText writes a byte count with a binary unit and three significant
// digits ("1.5 MiB", "512 B").
func memText(n int64) string {
	v, units := float64(n), []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return scenarios.FormatNumber(v) + " " + units[i]
}

// storeText is a node's store for the table: used/capacity ("-" for a
// dead node's), its primary copies, and what it spilled if anything.
func storeText(n statusNode) string {
	if !n.Alive {
		return "-"
	}
	capacity := "unbounded"
	if n.StoreCapacityBytes > 0 {
		capacity = memText(n.StoreCapacityBytes)
	}
	s := fmt.Sprintf("%s/%s (%d %s)", memText(n.StoreUsedBytes), capacity, n.StorePrimaries, plural(int(n.StorePrimaries), "primary", "primaries"))
	if n.SpilledBytes > 0 {
		s += ", " + memText(n.SpilledBytes) + " spilled"
	}
	return s
}

func resMap(r transport.Resources) map[string]float64 {
	m := map[string]float64{"CPU": float64(r.CPU) / float64(transport.Units(1)), "GPU": float64(r.GPU) / float64(transport.Units(1))}
	for _, q := range r.Custom {
		m[q.Name] = float64(q.Amount) / float64(transport.Units(1))
	}
	return m
}

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	var c clusterFlags
	var asJSON bool
	var timeout time.Duration
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.add(fs)
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the head")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: raysim status --address HOST:7379 [flags]\n\nLists the cluster's nodes: name, role, address, liveness, resources (available/total), queue length, the mean task time and pull bandwidth each measured (what the global scheduler's wait estimate uses), and its object store's use (bytes used of its capacity, primary copies, spilled bytes); then the cluster's object store, summed over its live nodes.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nExit status: 0 when the head answered, 1 when it cannot be reached or refuses the token, 2 for bad flags.\n")
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if c.address == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "raysim status: --address HOST:PORT is required (and nothing else)")
		return exitUsage
	}
	tok, err := c.token()
	if err != nil {
		fmt.Fprintf(stderr, "raysim status: %v\n", err)
		return exitFailed
	}
	tlsCfg, err := tlsFromFlags(c.tlsCert, c.tlsKey, c.tlsCA)
	if err != nil {
		fmt.Fprintf(stderr, "raysim status: %v\n", err)
		return exitUsage
	}
	st, err := deploy.Status(context.Background(), deploy.QueryConfig{Address: c.address, Token: tok, TLS: tlsCfg, Timeout: timeout})
	if err != nil {
		fmt.Fprintf(stderr, "raysim status: %v\n", err)
		return exitFailed
	}
	var nodes []statusNode
	for _, n := range st.Nodes {
		role := "node"
		if n.Role == transport.RoleDriver {
			role = "driver"
		}
		avail := n.Available
		if !n.Alive {
			avail = transport.Resources{} // its last heartbeat's: nothing is available on a dead node (QA)
		}
		nodes = append(nodes, statusNode{ID: uint32(n.Node), Name: n.Name, Role: role, Address: n.Addr, Alive: n.Alive,
			Incarnation: n.Incarnation, Total: resMap(n.Total), Available: resMap(avail), QueueLen: n.QueueLen,
			LastSeenMs: float64(n.Age) / float64(time.Millisecond),
			MeanTaskMs: float64(n.MeanTaskTime) / float64(time.Millisecond), MeanPullBytesPerS: n.MeanBandwidth,
			StoreUsedBytes: n.Store.Used, StoreCapacityBytes: n.Store.Capacity, StorePrimaries: n.Store.Primaries,
			SpilledBytes: n.Store.SpillUsed, SpillCapacityBytes: n.Store.SpillCapacity})
	}
	total := sumStores(nodes)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"address": c.address, "nodes": nodes, "object_store": total})
		return exitOK
	}
	fmt.Fprintf(stdout, "cluster %s: %d %s\n", c.address, len(nodes), plural(len(nodes), "node", "nodes"))
	fmt.Fprintf(stdout, "%-4s %-12s %-6s %-22s %-6s %-24s %-6s %-10s %-12s %s\n", "ID", "NAME", "ROLE", "ADDRESS", "STATE", "CPU/GPU (avail/total)", "QUEUE", "MEAN TASK", "MEAN PULL", "OBJECT STORE (used/capacity)")
	for _, n := range nodes {
		state := "dead"
		if n.Alive {
			state = "alive"
		}
		res := resourcesText(n)
		task, pull := "-", "-"
		if n.MeanTaskMs > 0 {
			task = scenarios.FormatNumber(n.MeanTaskMs) + "ms"
		}
		if n.MeanPullBytesPerS > 0 {
			pull = scenarios.FormatNumber(float64(n.MeanPullBytesPerS)/1e6) + " MB/s"
		}
		fmt.Fprintf(stdout, "%-4d %-12s %-6s %-22s %-6s %-24s %-6d %-10s %-12s %s\n", n.ID, n.Name, n.Role, n.Address, state, res, n.QueueLen, task, pull, storeText(n))
	}
	capacity := memText(total.CapacityBytes)
	if unbounded := fmt.Sprintf("%d unbounded %s", total.Unbounded, plural(total.Unbounded, "store", "stores")); total.Unbounded > 0 && total.CapacityBytes > 0 {
		capacity += " + " + unbounded
	} else if total.Unbounded > 0 {
		capacity = unbounded
	}
	fmt.Fprintf(stdout, "object store: %s used of %s, %d primary %s on %d live %s", memText(total.UsedBytes), capacity,
		total.Primaries, plural(int(total.Primaries), "copy", "copies"), total.Nodes, plural(total.Nodes, "node", "nodes"))
	if total.SpilledBytes > 0 {
		fmt.Fprintf(stdout, ", %s spilled", memText(total.SpilledBytes))
	}
	fmt.Fprintln(stdout)
	return exitOK
}

// resourcesText is a node's resources for the table, available/total. A
// placement group's bundles rename what they reserve (CPU_group_0_<g>,
// bundle_group_0_<g>, ...: transport.BundleResources) and take it out of
// the node's own CPU and GPU: listed one by one they made rows hundreds of
// characters wide and a node whose CPUs a group holds read "0/0 CPU". So
// the reserved CPUs and GPUs count toward the node's totals (in use: only
// the group's tasks may take them, as Ray's status counts them), and the
// bundles are counted instead of listed. --json keeps every resource.
func resourcesText(n statusNode) string {
	total := map[string]float64{"CPU": 0, "GPU": 0} // the loop adds the node's own
	bundles := 0
	for k, v := range n.Total {
		_, index, ok := transport.ParseBundleResource(k)
		switch {
		case !ok:
			total[k] += v
		case index >= 0: // bundle i's own names: its marker counts the bundle
			if strings.HasPrefix(k, "bundle_group_") {
				bundles++
			}
		default: // the group-wide name: every bundle of the group here, once
			if base := k[:strings.LastIndex(k, "_group_")]; base != "bundle" {
				total[base] += v
			}
		}
	}
	res := fmt.Sprintf("%g/%g CPU %g/%g GPU", n.Available["CPU"], total["CPU"], n.Available["GPU"], total["GPU"])
	for _, k := range slices.Sorted(maps.Keys(total)) {
		if k != "CPU" && k != "GPU" {
			res += fmt.Sprintf(" %g/%g %s", n.Available[k], total[k], k)
		}
	}
	if bundles > 0 {
		res += fmt.Sprintf(" (%d %s)", bundles, plural(bundles, "group bundle", "group bundles"))
	}
	return res
}

// remote builds a runner.Remote from the flags.
func (c *clusterFlags) remote() (runner.Remote, error) {
	tok, err := c.token()
	if err != nil {
		return runner.Remote{}, err
	}
	tlsCfg, err := tlsFromFlags(c.tlsCert, c.tlsKey, c.tlsCA)
	if err != nil {
		return runner.Remote{}, err
	}
	return runner.Remote{Address: c.address, Token: tok, TLS: tlsCfg}, nil
}
