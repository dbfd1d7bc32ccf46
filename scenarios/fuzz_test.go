package scenarios

import (
	"os"
	"testing"

	"pgregory.net/rapid"
)

// TestParseNeverPanics mutates the fixtures byte by byte: Parse must return a
// scenario or errors, never panic, and every error must carry a position or
// name an override.
func TestParseNeverPanics(t *testing.T) {
	var inputs [][]byte
	for _, f := range []string{"quickstart.yaml", "testdata/full.yaml", "testdata/bad.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, b)
	}
	rapid.Check(t, func(t *rapid.T) {
		data := append([]byte(nil), inputs[rapid.IntRange(0, len(inputs)-1).Draw(t, "file")]...)
		for i, n := 0, rapid.IntRange(1, 8).Draw(t, "edits"); i < n; i++ {
			pos := rapid.IntRange(0, len(data)-1).Draw(t, "pos")
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				data[pos] = rapid.SampledFrom([]byte("-0123456789:[]{},. abcxyz\n%/")).Draw(t, "byte")
			case 1:
				data = append(data[:pos], data[pos+1:]...)
			case 2:
				data = append(data[:pos], append([]byte{data[pos]}, data[pos:]...)...)
			}
			if len(data) == 0 {
				data = []byte("x")
			}
		}
		s, err := Parse("m.yaml", data)
		if err != nil {
			for _, e := range err.(Errors) {
				if e.Line <= 0 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		if _, err := s.Marshal(); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}
