package transport

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// specFieldByField is Encoder.Spec as it was written before it kept its
// slice in a local (one Encoder method per field): the reference the
// faster form must match byte for byte, since the bytes are the wire
// format, the GCS store's format and, through sizes, every trace digest.
func specFieldByField(e *Encoder, s *TaskSpec) {
	e.Task(s.ID)
	e.Task(s.Parent)
	e.Node(s.Owner)
	e.String(s.Func)
	e.String(s.Name)
	e.Uvarint(uint64(len(s.Args)))
	for _, a := range s.Args {
		e.Bool(a.IsRef)
		if a.IsRef {
			e.Object(a.Ref)
		} else {
			e.Value(a.Value)
		}
	}
	e.Uvarint(uint64(s.NumReturns))
	e.Varint(s.Resources.CPU)
	e.Varint(s.Resources.GPU)
	e.Uvarint(uint64(len(s.Resources.Custom)))
	for _, q := range s.Resources.Custom {
		e.String(q.Name)
		e.Varint(q.Amount)
	}
	e.Varint(int64(s.MaxRetries))
	e.Uvarint(uint64(s.Attempt))
	e.Duration(s.Duration)
	b := s.Strategy
	if s.Rebuild {
		b |= strategyRebuild
	}
	if s.RetryExceptions {
		b |= strategyRetryErrors
	}
	if s.CaptureChildTasks {
		b |= strategyCapture
	}
	if s.Backpressure() != 0 {
		b |= strategyBackpressure
	}
	if s.A().JobSet {
		b |= strategyJob
	}
	e.U8(b)
	if s.Backpressure() != 0 {
		e.Uvarint(uint64(s.Backpressure()))
	}
	if s.A().JobSet {
		e.Uvarint(uint64(s.A().Job))
	}
	e.Node(s.Target)
	e.Task(s.Actor)
	a := s.A()
	e.Bool(a.Creation)
	e.Varint(int64(a.MaxRestarts))
	e.String(a.Name)
	e.Uvarint(uint64(a.CheckpointEvery))
	rb := b2u(a.Replay)
	if a.MaxConcurrency != 0 {
		rb |= specConcurrent
	}
	if a.Detached {
		rb |= specDetached
	}
	if len(a.ConcurrencyGroups()) > 0 {
		rb |= specGroups
	}
	if a.ConcurrencyGroup() != "" {
		rb |= specGroup
	}
	e.U8(rb)
	if a.MaxConcurrency != 0 {
		e.Uvarint(uint64(a.MaxConcurrency))
	}
	if len(a.ConcurrencyGroups()) > 0 {
		e.Uvarint(uint64(len(a.ConcurrencyGroups())))
		for _, g := range a.ConcurrencyGroups() {
			e.String(g.Name)
			e.Uvarint(uint64(g.Limit))
		}
	}
	if a.ConcurrencyGroup() != "" {
		e.String(a.ConcurrencyGroup())
	}
	e.Task(a.Caller)
	e.Uvarint(a.Seq)
	e.Uvarint(a.SeqBase)
}

// TestSpecEncodingUnchanged: Encoder.Spec writes exactly what the
// field-by-field form writes, after whatever the encoder already holds,
// for specs with and without actor fields, arguments by value and by
// reference, custom resources and extreme numbers.
func TestSpecEncodingUnchanged(t *testing.T) {
	str := rapid.StringN(0, 20, -1)
	rapid.Check(t, func(t *rapid.T) {
		s := &TaskSpec{
			ID: TaskID(rapid.Uint64().Draw(t, "id")), Parent: TaskID(rapid.Uint64().Draw(t, "parent")),
			Owner: NodeID(rapid.Uint32().Draw(t, "owner")), Func: str.Draw(t, "func"), Name: str.Draw(t, "name"),
			NumReturns: rapid.Uint32().Draw(t, "returns"),
			Resources:  Resources{CPU: rapid.Int64().Draw(t, "cpu"), GPU: rapid.Int64().Draw(t, "gpu")},
			MaxRetries: rapid.Int32().Draw(t, "retries"), Attempt: rapid.Uint32().Draw(t, "attempt"),
			Duration: time.Duration(rapid.Int64().Draw(t, "duration")), Strategy: rapid.Uint8Range(0, 0x07).Draw(t, "strategy"),
			Rebuild: rapid.Bool().Draw(t, "rebuild"), RetryExceptions: rapid.Bool().Draw(t, "retryexc"),
			CaptureChildTasks: rapid.Bool().Draw(t, "capture"), Target: NodeID(rapid.Uint32().Draw(t, "target")),
			Actor: ActorID(rapid.Uint64().Draw(t, "actor")),
		}
		for range rapid.IntRange(0, 3).Draw(t, "args") {
			if rapid.Bool().Draw(t, "isref") {
				s.Args = append(s.Args, Arg{IsRef: true, Ref: ObjectID{Task: TaskID(rapid.Uint64().Draw(t, "ref")),
					Index: rapid.Uint32().Draw(t, "index"), Put: rapid.Bool().Draw(t, "put")}})
			} else {
				s.Args = append(s.Args, Arg{Value: Value{Data: []byte(str.Draw(t, "data")),
					Size: rapid.Int64().Draw(t, "size"), ErrKind: rapid.Uint8().Draw(t, "errkind")}})
			}
		}
		for i := range rapid.IntRange(0, 2).Draw(t, "custom") {
			s.Resources.Custom = append(s.Resources.Custom, Quantity{Name: str.Draw(t, "cname") + string(rune('a'+i)),
				Amount: rapid.Int64().Draw(t, "amount")})
		}
		if rapid.Bool().Draw(t, "act") {
			s.Act = &ActorSpec{Creation: rapid.Bool().Draw(t, "creation"), Replay: rapid.Bool().Draw(t, "replay"),
				MaxRestarts: rapid.Int32().Draw(t, "restarts"), CheckpointEvery: rapid.Uint32().Draw(t, "ckpt"),
				MaxConcurrency: rapid.Uint32().Draw(t, "conc"), Detached: rapid.Bool().Draw(t, "detached"), Name: str.Draw(t, "aname"),
				Caller: TaskID(rapid.Uint64().Draw(t, "caller")), Seq: rapid.Uint64().Draw(t, "seq"),
				SeqBase: rapid.Uint64().Draw(t, "seqbase"), Backpressure: rapid.Uint32().Draw(t, "backpressure"),
				JobSet: rapid.Bool().Draw(t, "jobset")}
			if s.Act.JobSet {
				s.Act.Job = JobID(rapid.Uint64().Draw(t, "job"))
			}
			if rapid.Bool().Draw(t, "concurrency") {
				c := &SpecExtra{Group: str.Draw(t, "group")}
				for range rapid.IntRange(0, 3).Draw(t, "groups") {
					c.Groups = append(c.Groups, ConcurrencyGroup{Name: str.Draw(t, "gname"), Limit: rapid.Uint32().Draw(t, "limit")})
				}
				s.Act.Extra = c
			}
		}
		prefix := []byte(str.Draw(t, "prefix"))
		want := NewEncoder(append([]byte(nil), prefix...))
		specFieldByField(want, s)
		got := NewEncoder(append([]byte(nil), prefix...))
		got.Spec(s)
		require.Equal(t, want.Bytes(), got.Bytes())
		require.Equal(t, len(want.Bytes())-len(prefix), SpecSize(s))
	})
	// Extremes rapid may not draw.
	s := &TaskSpec{MaxRetries: math.MinInt32, Duration: math.MinInt64, Act: &ActorSpec{MaxRestarts: math.MaxInt32, Seq: math.MaxUint64}}
	want, got := NewEncoder(nil), NewEncoder(nil)
	specFieldByField(want, s)
	got.Spec(s)
	require.Equal(t, want.Bytes(), got.Bytes())
}
