package scenarios

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The unit parsers below accept what a person writes in a scenario file.
// Each returns an error that says what was expected; the loader wraps it with
// the file position and field path.

// ParseDuration parses a duration: "10ms", "1.5s", "200us", "200µs", "2m",
// "2min", "1h", "1m30s", "-50ms". A bare "0" is zero; any other bare number is
// rejected because its unit would be a guess.
func ParseDuration(s string) (time.Duration, error) {
	// "10 ms": a space between a number and its unit is how many write it.
	t := strings.Join(strings.Fields(s), "")
	if t == "0" || t == "-0" || t == "+0" {
		return 0, nil
	}
	if t == "" {
		return 0, fmt.Errorf("a duration like 10ms, 1.5s or 200us")
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("a duration with a unit (ns, us, ms, s, m, h), like 10ms")
	}
	// Accept "min", "sec" and their plurals as spelled by people, unit by
	// unit: time.ParseDuration wants "m" and "s" (and a blind replace of
	// "min" would read "10mins" as 10ms).
	norm := durationUnit.ReplaceAllStringFunc(t, func(u string) string {
		if a, ok := durationAliases[u]; ok {
			return a
		}
		return u
	})
	d, err := time.ParseDuration(norm)
	if err != nil {
		return 0, fmt.Errorf("a duration like 10ms, 1.5s or 200us")
	}
	if d == 0 && strings.ContainsAny(norm, "123456789") {
		// "0.5ns": durations are whole nanoseconds, and a positive one
		// read as 0 would silently mean none.
		return 0, fmt.Errorf("a whole number of nanoseconds: a duration of 0 or at least 1ns")
	}
	return d, nil
}

// durationUnit matches the unit of each number-unit pair of a duration.
var durationUnit = regexp.MustCompile(`[^0-9.+-]+`)

// durationAliases are the spellings of minutes and seconds ParseDuration
// accepts beside time.ParseDuration's own units.
var durationAliases = map[string]string{"min": "m", "mins": "m", "sec": "s", "secs": "s",
	"msec": "ms", "msecs": "ms", "usec": "us", "usecs": "us", "nsec": "ns", "nsecs": "ns", "hr": "h", "hrs": "h"}

// sizeUnits are the size suffixes, longest first so that "KiB" wins over "B".
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize parses a size in bytes: "2GiB", "512MB", "1KiB", "1.5MiB", "64B"
// or a plain integer (bytes). KB/MB/GB/TB are powers of 1000; KiB/MiB/GiB/TiB
// powers of 1024. Negative sizes are rejected.
func ParseSize(s string) (int64, error) {
	const want = "a size like 512MB, 2GiB or 4096 (bytes)"
	t := strings.TrimSpace(s)
	if i, err := strconv.ParseInt(t, 10, 64); err == nil {
		if i < 0 {
			return 0, fmt.Errorf("a non-negative size")
		}
		return i, nil
	}
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			f, err := parseNumber(num)
			if err != nil {
				return 0, errors.New(want)
			}
			if f < 0 {
				return 0, fmt.Errorf("a non-negative size")
			}
			v := math.Round(f * u.mult)
			if v > math.MaxInt64/2 {
				return 0, fmt.Errorf("a size below 4EiB")
			}
			if v == 0 && f > 0 {
				// "0.3B": sizes are whole bytes, and a positive one
				// read as 0 would silently mean none.
				return 0, fmt.Errorf("a whole number of bytes: a size of 0 or at least 1B")
			}
			return int64(v), nil
		}
	}
	return 0, errors.New(want)
}

var bandwidthUnits = []struct {
	suffix string
	mult   float64 // bytes per second per unit
}{
	{"KiB/s", 1 << 10}, {"MiB/s", 1 << 20}, {"GiB/s", 1 << 30}, {"TiB/s", 1 << 40},
	{"kB/s", 1e3}, {"KB/s", 1e3}, {"MB/s", 1e6}, {"GB/s", 1e9}, {"TB/s", 1e12}, {"B/s", 1},
	{"kbps", 1e3 / 8}, {"Kbps", 1e3 / 8}, {"Mbps", 1e6 / 8}, {"Gbps", 1e9 / 8}, {"Tbps", 1e12 / 8},
	// The other ways people write them: bits as Mb/s or lower-case gbps,
	// bytes as MBps (B for bytes, b for bits, as above).
	{"mbps", 1e6 / 8}, {"gbps", 1e9 / 8}, {"tbps", 1e12 / 8},
	{"kb/s", 1e3 / 8}, {"Kb/s", 1e3 / 8}, {"Mb/s", 1e6 / 8}, {"Gb/s", 1e9 / 8}, {"Tb/s", 1e12 / 8}, {"b/s", 1.0 / 8},
	{"kBps", 1e3}, {"KBps", 1e3}, {"MBps", 1e6}, {"GBps", 1e9}, {"TBps", 1e12}, {"Bps", 1},
	{"bps", 1.0 / 8},
}

// ParseBandwidth parses a bandwidth into bytes per second. Bits: bps, Kbps,
// Mbps, Gbps, Tbps (powers of 1000). Bytes: B/s, KB/s, MB/s, GB/s, TB/s
// (powers of 1000) and KiB/s, MiB/s, GiB/s, TiB/s (powers of 1024). "0" and
// "unlimited" mean no bandwidth limit and return 0. A bare number is rejected:
// bits or bytes would be a guess.
func ParseBandwidth(s string) (float64, error) {
	const want = "a bandwidth like 10Gbps, 100MB/s or unlimited"
	t := strings.TrimSpace(s)
	if t == "0" || t == "unlimited" {
		return 0, nil
	}
	for _, u := range bandwidthUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			f, err := parseNumber(num)
			if err != nil {
				return 0, errors.New(want)
			}
			if f <= 0 {
				return 0, fmt.Errorf("a positive bandwidth (or unlimited)")
			}
			return f * u.mult, nil
		}
	}
	return 0, errors.New(want)
}

var rateUnits = []struct {
	suffix string
	per    time.Duration
}{
	{"/ns", time.Nanosecond}, {"/us", time.Microsecond}, {"/µs", time.Microsecond},
	{"/ms", time.Millisecond}, {"/s", time.Second}, {"/sec", time.Second},
	{"/min", time.Minute}, {"/m", time.Minute}, {"/h", time.Hour},
}

// ErrNegativeRate is ParseRate's error for a rate below 0 (callers that
// want a positive rate say so for 0 and negatives alike).
var ErrNegativeRate = errors.New("a non-negative rate")

// ParseRate parses an event rate into events per second: "0.5/s", "100000/s",
// "10/ms", "2/min", "3/h" or a plain number (per second). Negative rates are
// rejected (ErrNegativeRate).
func ParseRate(s string) (float64, error) {
	const want = "a rate like 100/s, 10/ms or 2/min"
	t := strings.TrimSpace(s)
	f, err := parseNumber(t)
	per := time.Second
	if err != nil {
		found := false
		for _, u := range rateUnits {
			if num, ok := strings.CutSuffix(t, u.suffix); ok {
				if f, err = parseNumber(num); err != nil {
					return 0, errors.New(want)
				}
				per, found = u.per, true
				break
			}
		}
		if !found {
			return 0, errors.New(want)
		}
	}
	if f < 0 {
		return 0, ErrNegativeRate
	}
	r := f * float64(time.Second) / float64(per)
	if math.IsInf(r, 0) {
		return 0, fmt.Errorf("a rate below 1e300/s")
	}
	return r, nil
}

// ParseProbability parses a probability: a number in [0, 1] ("0.01") or a
// percentage in [0%, 100%] ("1%").
func ParseProbability(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if num, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(num), 100
	}
	f, err := parseNumber(t)
	if err != nil {
		return 0, fmt.Errorf("a probability in [0, 1] like 0.01, or a percentage like 1%%")
	}
	p := f / scale
	if p < 0 || p > 1 {
		return 0, fmt.Errorf("a probability in [0, 1] (or 0%%..100%%)")
	}
	return p, nil
}

// parseNumber parses a finite decimal number (no NaN, no Inf, no hex).
func parseNumber(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.ContainsAny(t, "xXpP_") {
		return 0, fmt.Errorf("not a number")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a number")
	}
	return f, nil
}

// FormatSize writes n bytes in the largest unit that divides it exactly,
// binary before decimal ("2GiB", "512MB", "1536KiB", "100B"); ParseSize
// reads it back.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3}} {
		if n != 0 && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// FormatBandwidth writes bytes per second as a bandwidth ParseBandwidth reads
// back exactly; 0 is "unlimited".
func FormatBandwidth(bps float64) string {
	if bps == 0 {
		return "unlimited"
	}
	for _, u := range []struct {
		s string
		m float64
	}{{"Gbps", 1e9 / 8}, {"Mbps", 1e6 / 8}, {"Kbps", 1e3 / 8}} {
		if q := bps / u.m; q == math.Trunc(q) && q*u.m == bps {
			return strconv.FormatFloat(q, 'f', -1, 64) + u.s
		}
	}
	return strconv.FormatFloat(bps, 'g', -1, 64) + "B/s"
}

// FormatRate writes events per second as "N/s".
func FormatRate(perSecond float64) string {
	return strconv.FormatFloat(perSecond, 'g', -1, 64) + "/s"
}

// FormatNumber writes a measured quantity (a rate, a mean) with three
// significant digits below 100 and as a whole number from there: a slow
// run's 0.372 tasks/s is not "0", and 1234 is not "1.23e+03" (%.3g).
func FormatNumber(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// FormatDuration writes a duration ParseDuration reads back ("0s" for zero).
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return d.String()
}
