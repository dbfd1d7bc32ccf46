package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10ms", 10 * time.Millisecond, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"200us", 200 * time.Microsecond, false},
		{"200µs", 200 * time.Microsecond, false},
		{"2m", 2 * time.Minute, false},
		{"2min", 2 * time.Minute, false},
		{"1m30s", 90 * time.Second, false},
		{"10mins", 10 * time.Minute, false}, // not 10ms: min is replaced as a unit, not as text
		{"2min30sec", 150 * time.Second, false},
		{"5secs", 5 * time.Second, false},
		{"1minute", 0, true},
		{"2ss", 0, true},
		{"1h", time.Hour, false},
		{"500ns", 500, false},
		{"-50ms", -50 * time.Millisecond, false},
		{"0", 0, false},
		{"0s", 0, false},
		{" 3s ", 3 * time.Second, false},
		{"10", 0, true},
		{"1.5", 0, true},
		{"", 0, true},
		{"ten ms", 0, true},
		{"10 parsecs", 0, true},
		// qa32 #23: a space before the unit, msec/usec/nsec/hr (fail before).
		{"10 ms", 10 * time.Millisecond, false},
		{"1 m 30 s", 90 * time.Second, false},
		{"10msec", 10 * time.Millisecond, false},
		{"3usecs", 3 * time.Microsecond, false},
		{"7nsec", 7, false},
		{"2hrs", 2 * time.Hour, false},
	} {
		got, err := ParseDuration(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"4096", 4096, false},
		{"64B", 64, false},
		{"1KiB", 1024, false},
		{"1.5MiB", 1572864, false},
		{"2GiB", 2 << 30, false},
		{"1TiB", 1 << 40, false},
		{"512MB", 512e6, false},
		{"1kB", 1000, false},
		{"1KB", 1000, false},
		{"3GB", 3e9, false},
		{"-1", 0, true},
		{"-1KiB", 0, true},
		{"1Mb", 0, true},
		{"2 gigs", 0, true},
		{"MiB", 0, true},
		{"0x10", 0, true},
		{"1e30GiB", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseBandwidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"10Gbps", 1.25e9, false},
		{"100Mbps", 12.5e6, false},
		{"8Kbps", 1000, false},
		{"8kbps", 1000, false},
		{"800bps", 100, false},
		{"1Tbps", 1.25e11, false},
		{"100MB/s", 1e8, false},
		{"1KiB/s", 1024, false},
		{"2GiB/s", 2 << 30, false},
		{"5B/s", 5, false},
		{"unlimited", 0, false},
		{"0", 0, false},
		{"100", 0, true},
		{"-1Gbps", 0, true},
		{"0Gbps", 0, true},
		{"10Gb", 0, true},
		{"fast", 0, true},
		// qa32 #23: other spellings of bits and bytes (fail before).
		{"10gbps", 1.25e9, false},
		{"10Mb/s", 1.25e6, false},
		{"10MBps", 1e7, false},
		{"8b/s", 1, false},
		{"3Bps", 3, false},
	} {
		got, err := ParseBandwidth(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.InDelta(t, tc.want, got, 1e-9*tc.want, tc.in)
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"0.5/s", 0.5, false},
		{"100000/s", 1e5, false},
		{"10/ms", 1e4, false},
		{"3/us", 3e6, false},
		{"2/min", 2.0 / 60, false},
		{"2/m", 2.0 / 60, false},
		{"36/h", 0.01, false},
		{"5/sec", 5, false},
		{"250", 250, false},
		{"-1/s", 0, true},
		{"1/fortnight", 0, true},
		{"/s", 0, true},
		{"fast", 0, true},
	} {
		got, err := ParseRate(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.InDelta(t, tc.want, got, 1e-12, tc.in)
	}
}

func TestParseProbability(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  bool
	}{
		{"0", 0, false},
		{"1", 1, false},
		{"0.01", 0.01, false},
		{"1%", 0.01, false},
		{"100%", 1, false},
		{"0.5 %", 0.005, false},
		{"1.5", 0, true},
		{"-0.1", 0, true},
		{"101%", 0, true},
		{"NaN", 0, true},
		{"half", 0, true},
	} {
		got, err := ParseProbability(tc.in)
		if tc.err {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.InDelta(t, tc.want, got, 1e-12, tc.in)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1024, 4096, 512e6, 2 << 30, 1536, 123457} {
		s := FormatSize(n)
		got, err := ParseSize(s)
		require.NoError(t, err, s)
		assert.Equal(t, n, got, s)
	}
	assert.Equal(t, "512MB", FormatSize(512e6))
	assert.Equal(t, "2GiB", FormatSize(2<<30))
	for _, b := range []float64{0, 1.25e9, 1e8, 3.3, 12.5e6, 1 << 30} {
		s := FormatBandwidth(b)
		got, err := ParseBandwidth(s)
		require.NoError(t, err, s)
		assert.Equal(t, b, got, s)
	}
	assert.Equal(t, "10Gbps", FormatBandwidth(1.25e9))
	for _, r := range []float64{0.5, 1e5, 2.0 / 60} {
		got, err := ParseRate(FormatRate(r))
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	for _, d := range []time.Duration{0, 1, 200 * time.Microsecond, 90 * time.Second, -time.Millisecond} {
		got, err := ParseDuration(FormatDuration(d))
		require.NoError(t, err)
		assert.Equal(t, d, got)
	}
}
