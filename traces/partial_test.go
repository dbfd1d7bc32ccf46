package traces_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/traces"
)

// TestPartialRead: an interrupted run's trace (no end block) could be
// neither analyzed nor exported: reading stopped at an ErrTruncated error.
// With SetPartial the reader yields its readable prefix and ends without
// an error, Cut saying where; corruption is still an error.
func TestPartialRead(t *testing.T) {
	data := quickstartTrace(t)
	_, all, _, err := traces.ReadAll(bytes.NewReader(data))
	require.NoError(t, err)
	cut := data[:len(data)-5] // inside the end block

	r, err := traces.NewReader(bytes.NewReader(cut))
	require.NoError(t, err)
	for r.Next() {
	}
	require.ErrorIs(t, r.Err(), traces.ErrTruncated, "without SetPartial")

	r, err = traces.NewReader(bytes.NewReader(cut))
	require.NoError(t, err)
	r.SetPartial(true)
	n := 0
	for r.Next() {
		n++
	}
	assert.NoError(t, r.Err())
	assert.ErrorIs(t, r.Cut(), traces.ErrTruncated)
	assert.Equal(t, len(all), n, "every record before the end block")
	assert.EqualValues(t, n, r.Count())
	_, ok := r.Trailer()
	assert.False(t, ok)

	var out bytes.Buffer
	r, err = traces.NewReader(bytes.NewReader(data[:len(data)/2])) // cut inside a records block
	require.NoError(t, err)
	r.SetPartial(true)
	require.NoError(t, traces.WriteChrome(&out, r), "a Chrome export of the prefix")
	assert.ErrorIs(t, r.Cut(), traces.ErrTruncated)
	assert.Positive(t, r.Count())
	assert.True(t, strings.Contains(out.String(), "unfinished at the end of the trace"), "tasks running at the cut")

	bad := bytes.Clone(data)
	bad[len(bad)/2] ^= 0xff // a damaged block: corruption, not a cut
	r, err = traces.NewReader(bytes.NewReader(bad))
	require.NoError(t, err)
	r.SetPartial(true)
	for r.Next() {
	}
	assert.ErrorIs(t, r.Err(), traces.ErrCorrupt)
	assert.NoError(t, r.Cut())

	// qa32 #24: its stats say corrupted, not truncated (fails before).
	r, err = traces.NewReader(bytes.NewReader(bad))
	require.NoError(t, err)
	st, err := traces.ComputeStats(r)
	require.ErrorIs(t, err, traces.ErrCorrupt)
	assert.True(t, st.Truncated && st.Corrupted)
	var text bytes.Buffer
	st.Print(&text)
	assert.Contains(t, text.String(), "prefix digest (the trace is corrupted")
}
