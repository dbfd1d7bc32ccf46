package bench

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"raysim/traces"
)

// Machine describes where and with what a benchmark ran: enough for a
// reader citing a number to know which raysim, when, and how loaded the
// machine was (a shared machine's wall-clock numbers move 2-5x with its
// load; qa29 #5).
type Machine struct {
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"` // the process's; --scale --one-core runs at 1 (see ScaleResult.GOMAXPROCS)
	Go         string `json:"go"`
	OS         string `json:"os"`
	// Raysim is the binary's version as traces stamp it
	// (traces.RaysimVersion: module version or commit, "+dirty" for a
	// modified tree, or a hash of the binary).
	Raysim string `json:"raysim"`
	// GOGC is the garbage collector's target percentage (-1: off).
	GOGC int `json:"gogc"`
	// GOMemLimitMiB is the soft memory limit (GOMEMLIMIT; raysim sets 8 GiB
	// unless the environment does), 0 when none.
	GOMemLimitMiB float64 `json:"gomemlimit_mib,omitempty"`
	MemTotalMiB   float64 `json:"mem_total_mib,omitempty"` // /proc/meminfo; 0 when unknown
	// Started and Finished are UTC times (RFC 3339) of the run.
	Started  string `json:"started"`
	Finished string `json:"finished,omitempty"`
	// LoadAvg and LoadAvgEnd are the 1-minute load averages
	// (/proc/loadavg) when the run started and finished; -1 when unknown.
	LoadAvg    float64 `json:"load_avg_1m"`
	LoadAvgEnd float64 `json:"load_avg_1m_end"`
}

// ThisMachine reads /proc/cpuinfo (model name), /proc/meminfo and
// /proc/loadavg, the Go runtime's settings and the binary's version, and
// stamps the start time. Call Finish when the run is over.
func ThisMachine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown", Raysim: traces.RaysimVersion(),
		GOGC: gcPercent(), GOMemLimitMiB: memLimitMiB(), Started: time.Now().UTC().Format(time.RFC3339), LoadAvg: loadAvg(), LoadAvgEnd: -1}
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.CPU = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
		if kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64); err == nil {
			m.MemTotalMiB = kb / 1024
		}
	}
	return m
}

// Finish stamps the end of the run: its time and the load average then.
func (m *Machine) Finish() {
	m.Finished = time.Now().UTC().Format(time.RFC3339)
	m.LoadAvgEnd = loadAvg()
}

// Line is the machine in one line of text, for the end of a table.
// simGOMAXPROCS, if above 0, is the GOMAXPROCS the runs themselves used
// when it differs from the process's (--scale --one-core).
func (m Machine) Line(simGOMAXPROCS int) string {
	procs := fmt.Sprintf("GOMAXPROCS=%d", m.GOMAXPROCS)
	if simGOMAXPROCS > 0 && simGOMAXPROCS != m.GOMAXPROCS {
		procs = fmt.Sprintf("GOMAXPROCS=%d for the runs (the process's: %d)", simGOMAXPROCS, m.GOMAXPROCS)
	}
	load := func(v float64) string {
		if v < 0 {
			return "?"
		}
		return fmt.Sprintf("%.2f", v)
	}
	mem := ""
	if m.MemTotalMiB > 0 {
		mem = fmt.Sprintf(", %.1f GiB", m.MemTotalMiB/1024)
	}
	limit := ""
	if m.GOMemLimitMiB > 0 {
		limit = fmt.Sprintf(", GOMEMLIMIT=%.0fMiB", m.GOMemLimitMiB)
	}
	return fmt.Sprintf("machine: %s, %d CPUs%s, %s, %s, GOGC=%d%s; raysim %s; started %s, load average (1 min) %s at the start, %s at the end",
		m.CPU, m.NumCPU, mem, m.Go, procs, m.GOGC, limit, m.Raysim, m.Started, load(m.LoadAvg), load(m.LoadAvgEnd))
}

// gcPercent is the current GOGC setting (SetGCPercent returns it; it is
// put back at once).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// memLimitMiB is the soft memory limit in MiB (SetMemoryLimit(-1) reads
// it), 0 when there is none.
func memLimitMiB() float64 {
	l := debug.SetMemoryLimit(-1)
	if l == math.MaxInt64 {
		return 0
	}
	return float64(l) / (1 << 20)
}

// loadAvg is the 1-minute load average, or -1 when it cannot be read.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// procField is the value of the first "key: value" line of a /proc file
// whose key is key.
func procField(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
