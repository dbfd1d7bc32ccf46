package transport_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"raysim/runtime/transport"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus under testdata/fuzz")

// seedBodies are valid bodies of every registered kind (zero and filled
// Pings), so fuzzing starts from inside every message decoder; kinds added
// later are seeded automatically.
func seedBodies() map[string][]byte {
	seeds := map[string][]byte{}
	for _, k := range transport.Kinds() {
		m, _ := transport.New(k)
		seeds[fmt.Sprintf("kind%02d_zero", k)] = transport.Marshal(nil, m)
	}
	seeds["ping_payload"] = transport.Marshal(nil, &transport.Ping{Seq: 300, Payload: []byte("hello, raysim")})
	return seeds
}

func FuzzUnmarshal(f *testing.F) {
	for _, b := range seedBodies() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := transport.Unmarshal(body)
		if err != nil {
			return
		}
		again, err := transport.Unmarshal(transport.Marshal(nil, m))
		if err != nil {
			t.Fatalf("re-encoded %T does not decode: %v", m, err)
		}
		if d := cmp.Diff(m, again, cmpOpts); d != "" {
			t.Fatalf("re-encoding changed %T:\n%s", m, d)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	var all []byte
	for _, b := range seedBodies() {
		f.Add(transport.AppendFrame(nil, b))
		all = transport.AppendFrame(all, b)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, wire []byte) {
		r := bufio.NewReader(bytes.NewReader(wire))
		var again bytes.Buffer
		w := bufio.NewWriter(&again)
		var buf []byte
		for {
			body, err := transport.ReadFrame(r, buf)
			if err != nil {
				break
			}
			if len(body) == 0 || len(body) > transport.MaxBodyBytes {
				t.Fatalf("ReadFrame returned a %d-byte body", len(body))
			}
			if err := transport.WriteFrame(w, body); err != nil {
				t.Fatalf("WriteFrame of a frame ReadFrame accepted: %v", err)
			}
			transport.Unmarshal(body) // must not panic
			buf = body
		}
		w.Flush()
		if !bytes.HasPrefix(wire, again.Bytes()) {
			t.Fatalf("frames read do not re-encode to a prefix of the input")
		}
	})
}

// TestSeedCorpus writes the checked-in seed corpus with -update-corpus
// (valid frames and bodies of every kind, plus garbage), and otherwise
// checks it exists.
func TestSeedCorpus(t *testing.T) {
	garbage := map[string][]byte{
		"garbage_ascii":      []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"garbage_ff":         bytes.Repeat([]byte{0xff}, 32),
		"garbage_bad_header": {transport.ProtocolVersion + 1, 1, 0, 0, 0},
	}
	bodies, frames := seedBodies(), map[string][]byte{}
	for name, b := range bodies {
		frames[name] = transport.AppendFrame(nil, b)
	}
	for name, b := range garbage {
		bodies[name], frames[name] = b, b
	}
	frames["frame_zero_length"] = []byte{0, 0, 0, 0}
	frames["frame_too_large"] = []byte{0xff, 0xff, 0xff, 0x7f, 1}
	for fuzz, seeds := range map[string]map[string][]byte{"FuzzUnmarshal": bodies, "FuzzReadFrame": frames} {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if !*updateCorpus {
			ents, err := os.ReadDir(dir)
			if err != nil || len(ents) == 0 {
				t.Fatalf("no seed corpus in %s (run go test -run TestSeedCorpus -update-corpus): %v", dir, err)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
