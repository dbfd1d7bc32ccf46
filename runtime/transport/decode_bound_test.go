package transport

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDecodeAllocBoundedByBody: decoding one body must not allocate much
// more than the body itself (Count's promise: minBytes is the fewest bytes
// an element takes, so a count cannot outrun the input). A list of specs
// counted at 8 (or 16) bytes each let one 8 MiB frame allocate 160 MiB
// (found in review); at their true 52 bytes a 160-byte TaskSpec costs about
// 3 bytes per byte of body.
func TestDecodeAllocBoundedByBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   Kind
		prefix []byte // the message's fields before the hostile count
	}{
		// Actor, Found, Calls, Data (empty), then the Log count.
		{"ActorCheckpoint.Log", KindActorCheckpoint, append(make([]byte, 8), 0, 0, 0)},
		{"GcsAddTasks.Specs", KindGcsAddTasks, nil},
	} {
		// The count the old bound (8 bytes a spec) let through, and the
		// largest the true bound does (the zeros after it decode as
		// minimal specs).
		for _, per := range []int{8, minSpecBytes} {
			t.Run(fmt.Sprintf("%s/count_at_%d_bytes", tc.name, per), func(t *testing.T) {
				body := []byte{ProtocolVersion}
				body = binary.LittleEndian.AppendUint16(body, uint16(tc.kind))
				body = append(body, tc.prefix...)
				n := (MaxBodyBytes - len(body) - 3) / per // a count takes 3 bytes here
				body = binary.AppendUvarint(body, uint64(n))
				body = append(body, make([]byte, MaxBodyBytes-len(body))...)
				var ms0, ms1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				_, err := Unmarshal(body)
				runtime.ReadMemStats(&ms1)
				alloc := ms1.TotalAlloc - ms0.TotalAlloc
				t.Logf("body %d bytes, count %d, err %v, allocated %d MiB", len(body), n, err, alloc>>20)
				if alloc > 4*uint64(len(body)) {
					t.Fatalf("one %d-byte body made the decoder allocate %d MiB (%.0fx)", len(body), alloc>>20, float64(alloc)/float64(len(body)))
				}
			})
		}
	}
}

// TestCountMinBytesAreMinimal: each list's minBytes (see Decoder.Count) is
// exactly what one minimal element adds to its message's encoding: larger
// would refuse valid messages, smaller lets a hostile count allocate more
// than the body holds. Messages of minimal elements round-trip.
func TestCountMinBytesAreMinimal(t *testing.T) {
	rec := TraceRecord{At: time.Unix(0, 0)} // UnixNano 0: a one-byte varint
	for _, tc := range []struct {
		name       string
		min        int
		empty, one Message
		many       Message // many minimal elements: must decode
	}{
		{"spec", minSpecBytes, &GcsAddTasks{}, &GcsAddTasks{Specs: []*TaskSpec{{}}},
			&GcsAddTasks{Specs: []*TaskSpec{{}, {}, {}, {}}}},
		{"ActorCheckpoint.Log", minSpecBytes, &ActorCheckpoint{}, &ActorCheckpoint{Log: make([]TaskSpec, 1)},
			&ActorCheckpoint{Log: make([]TaskSpec, 4)}},
		{"Arg", minArgBytes, &GcsAddTask{}, &GcsAddTask{Spec: TaskSpec{Args: make([]Arg, 1)}},
			&GcsAddTask{Spec: TaskSpec{Args: make([]Arg, 4)}}},
		{"ObjectLoc", minObjectLocBytes, &SpillTask{}, &SpillTask{Locs: make([]ObjectLoc, 1)},
			&SpillTask{Locs: make([]ObjectLoc, 4)}},
		{"GcsAddObject", minAddObjectBytes, &GcsAddObjects{}, &GcsAddObjects{Objects: make([]GcsAddObject, 1)},
			&GcsAddObjects{Objects: make([]GcsAddObject, 4)}},
		{"NodeStatus", minNodeStatusBytes, &StatusReply{}, &StatusReply{Nodes: make([]NodeStatus, 1)},
			&StatusReply{Nodes: make([]NodeStatus, 4)}},
		{"TraceRecord", minTraceRecordBytes, &TraceBatch{}, &TraceBatch{Records: []TraceRecord{rec}},
			&TraceBatch{Records: []TraceRecord{rec, rec, rec, rec}}},
	} {
		got := len(Marshal(nil, tc.one)) - len(Marshal(nil, tc.empty))
		require.Equal(t, got, tc.min, "%s: one minimal element's bytes", tc.name)
		_, err := Unmarshal(Marshal(nil, tc.many))
		require.NoError(t, err, "%s: a list of minimal elements", tc.name)
	}
	require.Equal(t, 52, minSpecBytes, "the zero spec's encoding (update the doc comment if the spec's fields changed)")
}
