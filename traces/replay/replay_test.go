package replay

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/scenarios"
	"raysim/scenarios/runner"
	"raysim/traces"
)

// record runs s and returns its trace file and the run's result.
func record(t testing.TB, s *scenarios.Scenario) ([]byte, *runner.Result) {
	t.Helper()
	yaml, err := s.Marshal()
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, traces.Header{File: s.File, Scenario: yaml, Seed: s.Seed}, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	res, err := runner.Run(context.Background(), s, runner.Options{Trace: rec})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	return buf.Bytes(), res
}

func load(t testing.TB, path string, sets ...string) *scenarios.Scenario {
	s, err := scenarios.LoadWithOverrides(path, sets)
	require.NoError(t, err)
	return s
}

func replayBytes(t testing.TB, data []byte, o Options) *Result {
	t.Helper()
	r, err := traces.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	res, err := Run(context.Background(), r, o)
	require.NoError(t, err)
	return res
}

func TestReplayShippedScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		if testing.Short() && filepath.Base(f) != "quickstart.yaml" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := scenarios.Load(f)
			if err != nil {
				t.Skipf("does not load: %v", err)
			}
			data, run := record(t, s)
			res := replayBytes(t, data, Options{})
			require.Nil(t, res.Divergence, "%v", res.Divergence)
			assert.Equal(t, run.Digest, res.Digest.String(), "the replay reproduces the run's digest")
			assert.Equal(t, res.Trace, res.Digest, "and the trace's")
			// The digest-only run (no file) has the same digest.
			plain, err := runner.Run(context.Background(), s, runner.Options{})
			require.NoError(t, err)
			assert.Equal(t, run.Digest, plain.Digest)
		})
	}
}

// records reads a trace whole.
func records(t testing.TB, data []byte) []traces.Record {
	_, recs, _, err := traces.ReadAll(bytes.NewReader(data))
	require.NoError(t, err)
	return recs
}

func firstDiff(a, b []traces.Record) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestDivergenceChangedSeed(t *testing.T) {
	s := load(t, "../../scenarios/quickstart.yaml")
	data, _ := record(t, s)
	other := load(t, "../../scenarios/quickstart.yaml", "seed=43")
	otherData, _ := record(t, other)
	res := replayBytes(t, data, Options{Scenario: other})
	require.NotNil(t, res.Divergence)
	a, b := records(t, data), records(t, otherData)
	i := firstDiff(a, b)
	d := res.Divergence
	assert.Equal(t, uint64(i), d.Index)
	assert.Equal(t, uint64(i), res.Records)
	require.NotNil(t, d.Want)
	require.NotNil(t, d.Got)
	assert.Equal(t, a[i], *d.Want)
	assert.Equal(t, b[i], *d.Got)
	assert.Equal(t, min(a[i].At, b[i].At), d.At)
	assert.Contains(t, d.String(), "first divergence at event")
}

// rewrite copies a trace through f (which may change a record).
func rewrite(t testing.TB, data []byte, f func(i int, r *traces.Record)) []byte {
	h, recs, _, err := traces.ReadAll(bytes.NewReader(data))
	require.NoError(t, err)
	var buf bytes.Buffer
	w, err := traces.NewWriter(&buf, *h, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for i := range recs {
		f(i, &recs[i])
		rec.Write(&recs[i])
	}
	require.NoError(t, rec.Close())
	return buf.Bytes()
}

func TestDivergenceMutatedRecord(t *testing.T) {
	s := load(t, "../../scenarios/quickstart.yaml")
	data, _ := record(t, s)
	orig := records(t, data)
	const k = 12345
	mutated := rewrite(t, data, func(i int, r *traces.Record) {
		if i == k {
			r.Bytes++
		}
	})
	res := replayBytes(t, mutated, Options{})
	d := res.Divergence
	require.NotNil(t, d)
	assert.Equal(t, uint64(k), d.Index)
	assert.Equal(t, orig[k], *d.Got)
	assert.Equal(t, orig[k].Bytes+1, d.Want.Bytes)
	assert.Equal(t, orig[k].At, d.At)

	// A trace with an extra record at the end: the run ends first.
	longer := rewrite(t, data, func(int, *traces.Record) {})
	var buf bytes.Buffer
	h, recs, _, err := traces.ReadAll(bytes.NewReader(longer))
	require.NoError(t, err)
	w, err := traces.NewWriter(&buf, *h, traces.WriterOptions{})
	require.NoError(t, err)
	rec := traces.NewRecorder(w)
	for i := range recs {
		rec.Write(&recs[i])
	}
	extra := recs[len(recs)-1]
	rec.Write(&extra)
	require.NoError(t, rec.Close())
	res = replayBytes(t, buf.Bytes(), Options{})
	require.NotNil(t, res.Divergence)
	assert.Equal(t, uint64(len(recs)), res.Divergence.Index)
	assert.Nil(t, res.Divergence.Got)
	assert.Equal(t, extra, *res.Divergence.Want)
}

func TestDamagedTraceDuringReplay(t *testing.T) {
	s := load(t, "../../scenarios/quickstart.yaml")
	data, _ := record(t, s)
	r, err := traces.NewReader(bytes.NewReader(data[:len(data)/2]))
	require.NoError(t, err)
	_, err = Run(context.Background(), r, Options{})
	assert.ErrorIs(t, err, traces.ErrTruncated)
}

func TestTimeTravel(t *testing.T) {
	s := load(t, "../../scenarios/quickstart.yaml")
	data, _ := record(t, s)
	all := records(t, data)

	res := replayBytes(t, data, Options{Until: 350 * time.Millisecond})
	require.Nil(t, res.Divergence)
	require.True(t, res.Stopped)
	require.NotNil(t, res.State)
	assert.Equal(t, 350*time.Millisecond, res.State.At)
	// Every record up to 350ms was compared, none after.
	n := 0
	for _, r := range all {
		if r.At <= 350*time.Millisecond {
			n++
		}
	}
	assert.Equal(t, uint64(n), res.Records)
	assert.Len(t, res.State.Nodes, 4)
	var buf bytes.Buffer
	res.State.Print(&buf)
	assert.Contains(t, buf.String(), "gcs shard 0")
	assert.Contains(t, buf.String(), "node worker-1 (id 3)")

	res = replayBytes(t, data, Options{UntilEvent: 1000, HasUntilEvent: true})
	require.Nil(t, res.Divergence)
	require.True(t, res.Stopped)
	assert.GreaterOrEqual(t, res.Records, uint64(1001))
	assert.Less(t, res.Records, uint64(1100)) // the rest of that loop step
	assert.Equal(t, all[res.Records-1].At, res.State.At)
}
