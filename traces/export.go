package traces

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"raysim/scenarios"
)

// WriteJSONL writes one JSON object per record (for scripts):
//
//	{"i":0,"t_ns":1500,"kind":"net.send","node":1,"peer":2,"msg":"PlaceTask","bytes":96}
//
// Zero fields are omitted; task IDs are "t" + 16 hex digits, objects
// "tTASK.INDEX" (".pINDEX" for a Put). A detail that is not valid UTF-8 is
// written as "detail" (invalid bytes as U+FFFD) and, exactly, as
// "detail_b64" (standard base64 of its bytes).
func WriteJSONL(w io.Writer, r *Reader) (uint64, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	b := make([]byte, 0, 256)
	var n uint64
	for i, rec := range r.All() {
		b = appendJSON(b[:0], i, rec)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return n, err
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, err
	}
	return n, r.Err()
}

func appendJSON(b []byte, i uint64, r *Record) []byte {
	b = append(b, `{"i":`...)
	b = strconv.AppendUint(b, i, 10)
	b = append(b, `,"t_ns":`...)
	b = strconv.AppendInt(b, int64(r.At), 10)
	b = append(b, `,"kind":"`...)
	b = append(b, r.KindName()...)
	b = append(b, '"')
	if r.Node != 0 {
		b = append(b, `,"node":`...)
		b = strconv.AppendUint(b, uint64(r.Node), 10)
	}
	if r.Peer != 0 {
		b = append(b, `,"peer":`...)
		b = strconv.AppendUint(b, uint64(r.Peer), 10)
	}
	if r.Msg != 0 {
		b = append(b, `,"msg":"`...)
		b = append(b, MsgName(r.Msg)...)
		b = append(b, '"')
	}
	if r.Task != 0 {
		b = append(b, `,"task":"`...)
		b = append(b, r.Task.String()...)
		b = append(b, '"')
	}
	if r.Object.Task != 0 || r.Object.Index != 0 || r.Object.Put {
		b = append(b, `,"object":"`...)
		b = append(b, r.Object.String()...)
		b = append(b, '"')
	}
	if r.Bytes != 0 {
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, r.Bytes, 10)
	}
	if r.Detail != "" {
		b = append(b, `,"detail":`...)
		q, _ := json.Marshal(r.Detail)
		b = append(b, q...)
		if !utf8.ValidString(r.Detail) {
			// json.Marshal turned each invalid byte into U+FFFD: carry the
			// exact bytes too.
			b = append(b, `,"detail_b64":"`...)
			b = base64.StdEncoding.AppendEncode(b, []byte(r.Detail))
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

// Stats summarises a trace.
type Stats struct {
	// The header's: the scenario's name ("" when the header's copy cannot
	// be read), its file as given to `raysim run`, the seed, the --set
	// overrides, the transport (sim, tcp, remote), the raysim version that
	// wrote it, and whether --buggify was on.
	Scenario  string   `json:"scenario"`
	File      string   `json:"file"`
	Seed      int64    `json:"seed"`
	Overrides []string `json:"overrides"`
	Transport string   `json:"transport"`
	Version   string   `json:"version"`
	Buggify   bool     `json:"buggify"`

	Records uint64        `json:"records"`
	End     time.Duration `json:"end_ns"`
	Digest  string        `json:"digest"`
	// Truncated: the trace ends early (no end block, or damaged): the
	// counts and Digest cover the records before the damage only (a
	// prefix digest, not the run's).
	Truncated bool `json:"truncated,omitempty"`
	// Corrupted: of a Truncated trace, one whose bytes are damaged (a
	// checksum failed, ErrCorrupt), not merely cut short.
	Corrupted bool              `json:"corrupted,omitempty"`
	ByKind    map[string]uint64 `json:"by_kind"`
	ByNode    map[string]uint64 `json:"by_node"`    // node ID -> records
	BySecond  []uint64          `json:"per_second"` // records per virtual second, up to MaxStatsSeconds
	ByMessage map[string]uint64 `json:"by_message"` // net.send per message type
	Bytes     uint64            `json:"bytes_sent"` // net.send bytes
	// Later counts the records BySecond leaves out: those at or after
	// MaxStatsSeconds virtual seconds (or before 0, which a Reader never
	// yields).
	Later uint64 `json:"per_second_later,omitempty"`
	// OtherJobsEvents: a live run's count of other jobs' events left out
	// of the trace (Trailer.OtherJobsEvents): the cluster was shared.
	OtherJobsEvents uint64 `json:"other_jobs_events,omitempty"`
	// Clock is the time axis of End and BySecond: "virtual" for a
	// simulated run, "wall clock" for one on real sockets (the header's
	// transport tcp or remote).
	Clock string `json:"clock"`
}

// clockOf names the time axis of a trace of transport t.
func clockOf(t string) string {
	if t == "" || t == "sim" {
		return "virtual"
	}
	return "wall clock"
}

// MaxStatsSeconds bounds Stats.BySecond: the per-second histogram covers
// the first 1,000,000 virtual seconds (about 11.6 days), so a record far in
// the future (a time near math.MaxInt64, which a trace may hold) costs one
// count in Stats.Later, not a histogram of billions of seconds.
const MaxStatsSeconds = 1_000_000

// ComputeStats reads a whole trace. Records at or after MaxStatsSeconds
// virtual seconds are counted in Later instead of BySecond.
func ComputeStats(r *Reader) (*Stats, error) {
	h := r.Header()
	st := &Stats{ByKind: map[string]uint64{}, ByNode: map[string]uint64{}, ByMessage: map[string]uint64{},
		Clock: clockOf(h.Transport), File: h.File, Seed: h.Seed, Overrides: append([]string{}, h.Overrides...),
		Transport: h.Transport, Version: h.Version, Buggify: h.Buggify}
	if st.Transport == "" {
		st.Transport = "sim"
	}
	if s, err := scenarios.Parse(h.File, h.Scenario); err == nil && len(h.Scenario) > 0 {
		st.Scenario = s.Name
	}
	kindNames := map[uint16]string{}
	for _, rec := range r.All() {
		st.Records++
		st.End = rec.At
		key := uint16(rec.Source)<<8 | uint16(rec.Kind)
		name, ok := kindNames[key]
		if !ok {
			name = rec.KindName()
			kindNames[key] = name
		}
		st.ByKind[name]++
		st.ByNode[strconv.FormatUint(uint64(rec.Node), 10)]++
		if sec := rec.At / time.Second; sec >= 0 && sec < MaxStatsSeconds {
			for len(st.BySecond) <= int(sec) {
				st.BySecond = append(st.BySecond, 0)
			}
			st.BySecond[sec]++
		} else {
			st.Later++
		}
		if rec.Source == Net && rec.Kind == 0 { // send
			st.ByMessage[MsgName(rec.Msg)]++
			st.Bytes += uint64(rec.Bytes)
		}
	}
	st.Digest = r.Digest().String()
	st.Truncated = r.Err() != nil
	st.Corrupted = errors.Is(r.Err(), ErrCorrupt)
	if t, ok := r.Trailer(); ok {
		st.OtherJobsEvents = t.OtherJobsEvents
	}
	return st, r.Err()
}

// Print writes the statistics as text tables.
func (st *Stats) Print(w io.Writer) {
	clock := st.Clock
	if clock == "" {
		clock = "virtual"
	}
	digest := "digest"
	switch {
	case st.Corrupted:
		digest = "prefix digest (the trace is corrupted: not the run's)"
	case st.Truncated:
		digest = "prefix digest (the trace is truncated: not the run's)"
	}
	fmt.Fprintf(w, "records   %d over %v %s, %s %s\n", st.Records, st.End, clock, digest, st.Digest)
	if st.OtherJobsEvents > 0 {
		fmt.Fprintf(w, "warning   %s\n", OtherJobsWarning(st.OtherJobsEvents))
	}
	table := func(title string, m map[string]uint64, numeric bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		if numeric {
			slices.SortFunc(keys, func(a, b string) int {
				x, _ := strconv.Atoi(a)
				y, _ := strconv.Atoi(b)
				return x - y
			})
		} else {
			slices.SortFunc(keys, func(a, b string) int {
				if m[a] != m[b] {
					if m[a] > m[b] {
						return -1
					}
					return 1
				}
				if a < b {
					return -1
				}
				return 1
			})
		}
		fmt.Fprintf(w, "\n%s\n", title)
		for _, k := range keys {
			fmt.Fprintf(w, "  %-24s %10d\n", k, m[k])
		}
	}
	table("by kind", st.ByKind, false)
	table("by node (endpoint id)", st.ByNode, true)
	table("messages sent by type", st.ByMessage, false)
	fmt.Fprintf(w, "  %-24s %10d\n", "bytes sent", st.Bytes)
	fmt.Fprintf(w, "\nper %s second\n", clock)
	for s, n := range st.BySecond {
		fmt.Fprintf(w, "  %4ds %10d\n", s, n)
	}
	if st.Later > 0 {
		fmt.Fprintf(w, "  >= %ds %10d\n", MaxStatsSeconds, st.Later)
	}
}

// OtherJobsWarning is the warning for a live trace whose cluster ran other
// jobs' tasks during the run (Trailer.OtherJobsEvents n > 0), as `raysim
// run` printed it at the end of the run.
func OtherJobsWarning(n uint64) string {
	return fmt.Sprintf("the cluster ran other jobs' tasks during the run: their %d events are not in its trace, "+
		"but they shared its CPUs: utilization and latencies include contention the trace cannot show", n)
}
