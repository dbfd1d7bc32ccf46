package transport_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"raysim/runtime/transport"
)

// canonical brings a randomly filled value of a type whose encoding is not a
// plain field-by-field one back to a value its codec can represent. Add an
// entry when a new message type carries a union or a decode-side bound; any
// type without one must round-trip whatever its field values.
var canonical = map[reflect.Type]func(v reflect.Value){
	// Arg is a union: a reference or an inline value, never both.
	reflect.TypeFor[transport.Arg](): func(v reflect.Value) {
		a := v.Addr().Interface().(*transport.Arg)
		if a.IsRef {
			a.Value = transport.Value{}
		} else {
			a.Ref = transport.ObjectID{}
		}
	},
	// Chunk sizes and offsets are never negative; the decoder refuses them.
	// An error kind is below 0x80 (the byte's top bit flags Causes), and
	// causes come only with an error kind.
	reflect.TypeFor[transport.ObjectChunk](): func(v reflect.Value) {
		c := v.Addr().Interface().(*transport.ObjectChunk)
		c.Offset, c.Total, c.Virtual = abs(c.Offset), abs(c.Total), abs(c.Virtual)
		c.ErrKind, c.Causes = errKindCauses(c.ErrKind, c.Causes)
	},
	reflect.TypeFor[transport.Value](): func(v reflect.Value) {
		x := v.Addr().Interface().(*transport.Value)
		x.ErrKind, x.Causes = errKindCauses(x.ErrKind, x.Causes)
	},
	// A location's size is never negative: its sign carries Failed.
	reflect.TypeFor[transport.GcsAddObject](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GcsAddObject)
		m.Size = abs(m.Size)
	},
	// A task info's claim is an enum (ClaimNone..ClaimSpent).
	reflect.TypeFor[transport.TaskInfo](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.TaskInfo)
		m.Claim %= transport.ClaimSpent + 1
	},
	// A group's strategy and state are enums, names and details bounded,
	// bundle indices below MaxBundles: the decoders refuse others.
	reflect.TypeFor[transport.GroupCreate](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GroupCreate)
		m.Strategy %= 4
		m.Name = validName(m.Name, transport.MaxGroupName)
	},
	reflect.TypeFor[transport.GroupFound](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GroupFound)
		m.Strategy %= 4
		m.Name = validName(m.Name, transport.MaxGroupName)
	},
	reflect.TypeFor[transport.GroupLookup](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GroupLookup)
		m.Name = validName(m.Name, transport.MaxGroupName)
	},
	reflect.TypeFor[transport.GroupState](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GroupState)
		m.State %= 4
		m.Detail = truncate(m.Detail, 1024)
	},
	reflect.TypeFor[transport.Bundle](): func(v reflect.Value) {
		b := v.Addr().Interface().(*transport.Bundle)
		b.Index %= transport.MaxBundles
	},
	reflect.TypeFor[transport.BundleRelease](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.BundleRelease)
		for i := range m.Indices {
			m.Indices[i] %= transport.MaxBundles
		}
	},
	// A placement's Attempt shares its word with Rebuild (bit 30).
	reflect.TypeFor[transport.TaskPlaced](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.TaskPlaced)
		m.Attempt &^= 1 << 30
	},
	// So does an infeasible notice's, and its detail is bounded.
	reflect.TypeFor[transport.TaskInfeasible](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.TaskInfeasible)
		m.Attempt &^= 1 << 30
		m.Detail = transport.CutInfeasible(m.Detail)
	},
	// A spec's actor fields travel inline: all zero they decode as none.
	// Its returns are bounded (MaxReturns); the decoder refuses more. Its
	// strategy shares a byte with Rebuild, RetryExceptions and
	// CaptureChildTasks: strategies use the low 5 bits. An actor's max
	// concurrency is bounded, and refused with replay or checkpoints; so
	// are its concurrency groups (a creation's, named, sorted without
	// repeats, limits of 1 and more), and a call's group is a call's.
	// Object store sizes are never negative.
	reflect.TypeFor[transport.StoreUsage](): func(v reflect.Value) {
		u := v.Addr().Interface().(*transport.StoreUsage)
		u.Used, u.Capacity, u.SpillUsed, u.SpillCapacity = abs(u.Used), abs(u.Capacity), abs(u.SpillUsed), abs(u.SpillCapacity)
	},
	// Beats shares its uvarint with JobsEnd and Left (the low bits).
	reflect.TypeFor[transport.NodeDead](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.NodeDead)
		m.Beats &= 1<<62 - 1
	},
	reflect.TypeFor[transport.TaskSpec](): func(v reflect.Value) {
		s := v.Addr().Interface().(*transport.TaskSpec)
		if a := s.Act; a != nil {
			if !a.JobSet {
				a.Job = 0 // carried only when set
			}
			a.MaxConcurrency %= transport.MaxActorConcurrency + 1
			if a.MaxConcurrency > 1 {
				a.Replay, a.CheckpointEvery = false, 0
			}
			c := a.Extra
			if c == nil {
				c = new(transport.SpecExtra)
			}
			gs := c.Groups[:0:0]
			for _, g := range c.Groups {
				if g.Name = truncate(g.Name, transport.MaxConcurrencyGroupName); g.Name != "" {
					g.Limit = 1 + g.Limit%1000
					gs = append(gs, g)
				}
			}
			slices.SortFunc(gs, func(x, y transport.ConcurrencyGroup) int { return strings.Compare(x.Name, y.Name) })
			c.Groups = slices.CompactFunc(gs, func(x, y transport.ConcurrencyGroup) bool { return x.Name == y.Name })
			if len(c.Groups) > 0 {
				a.Creation, a.Replay, a.CheckpointEvery = true, false, 0
				a.MaxConcurrency %= 1000
			} else {
				c.Groups = nil
			}
			c.Group = truncate(c.Group, transport.MaxConcurrencyGroupName)
			if a.Creation {
				c.Group = ""
			}
			c.Calls = validCalls(c.Calls)
			// Errors to retry: named (no NUL), bounded, on a task that
			// retries errors.
			names := c.RetryOn[:0:0]
			for _, n := range c.RetryOn {
				if n = strings.NewReplacer("\x00", "", "\x01", "").Replace(truncate(n, transport.MaxErrorName)); n != "" && len(names) < transport.MaxRetryOn {
					names = append(names, n)
				}
			}
			c.RetryOn = nil
			if len(names) > 0 {
				c.RetryOn, s.RetryExceptions = names, true
			}
			// A job's namespace: no NUL, bounded (empty: none).
			c.Namespace = strings.ReplaceAll(truncate(c.Namespace, transport.MaxNamespace), "\x00", "")
			a.Extra = c
			if len(c.Groups) == 0 && c.Group == "" && c.Calls.IsZero() && len(c.RetryOn) == 0 && c.Namespace == "" {
				a.Extra = nil
			}
			a.Name = validActorName(a.Name)
		}
		if s.Act != nil && reflect.ValueOf(*s.Act).IsZero() {
			s.Act = nil
		}
		s.NumReturns %= transport.MaxReturns + 1
		s.Strategy &= 0x07
	},
	// Resource names are strictly increasing and amounts bounded; requests
	// and capacities are never negative (kept non-negative everywhere here,
	// which Available also allows).
	reflect.TypeFor[transport.Resources](): func(v reflect.Value) {
		r := v.Addr().Interface().(*transport.Resources)
		r.CPU, r.GPU = abs(r.CPU)%transport.MaxResourceUnits, abs(r.GPU)%transport.MaxResourceUnits
		slices.SortFunc(r.Custom, func(a, b transport.Quantity) int { return strings.Compare(a.Name, b.Name) })
		r.Custom = slices.CompactFunc(r.Custom, func(a, b transport.Quantity) bool { return a.Name == b.Name })
		for i := range r.Custom {
			r.Custom[i].Amount = abs(r.Custom[i].Amount) % transport.MaxResourceUnits
		}
	},
	// An actor's state shares its byte with two flags (a class, a cause
	// follow): states use the low 6 bits. A cause is bounded.
	// A third flag says call defaults follow (bounded as a spec's).
	// An actor's name is a namespace, a NUL and a name (or a bare name),
	// each bounded (validActorName).
	reflect.TypeFor[transport.GcsLookupActor](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GcsLookupActor)
		m.Name = validActorName(m.Name)
	},
	// A listing's namespace passes CheckNamespace or is empty (every
	// namespace); its names are actors' names, non-empty, in increasing
	// order (a page of at most MaxListedNames).
	reflect.TypeFor[transport.GcsListNames](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GcsListNames)
		m.Namespace = strings.ReplaceAll(truncate(m.Namespace, transport.MaxNamespace), "\x00", "")
		m.After = validActorName(m.After)
	},
	reflect.TypeFor[transport.NamedActors](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.NamedActors)
		names := m.Names[:0]
		for _, q := range m.Names {
			if q = validActorName(q); q != "" {
				names = append(names, q)
			}
		}
		slices.Sort(names)
		m.Names = slices.Compact(names)
	},
	reflect.TypeFor[transport.GcsActorUpdate](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.GcsActorUpdate)
		m.Name = validActorName(m.Name)
		m.State &= 0x0f // 0x10 flags Restarts
		m.Restarts %= transport.MaxActorRestarts + 1
		m.Cause = transport.CutCause(m.Cause)
		m.Calls = validCalls(m.Calls)
	},
	reflect.TypeFor[transport.ActorInfo](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.ActorInfo)
		m.Name = validActorName(m.Name)
		m.State &= 0x1f
		m.Cause = transport.CutCause(m.Cause)
		m.Calls = validCalls(m.Calls)
	},
	// A heartbeat's mean task time is never negative.
	reflect.TypeFor[transport.Heartbeat](): func(v reflect.Value) {
		h := v.Addr().Interface().(*transport.Heartbeat)
		h.MeanTaskTime = time.Duration(abs(int64(h.MeanTaskTime)))
	},
	// Nor is a node status's, which is a heartbeat's.
	reflect.TypeFor[transport.NodeStatus](): func(v reflect.Value) {
		s := v.Addr().Interface().(*transport.NodeStatus)
		s.MeanTaskTime = time.Duration(abs(int64(s.MeanTaskTime)))
	},
	// A snapshot's part is one of its parts, of at most MaxCount.
	reflect.TypeFor[transport.ChainSnapshot](): func(v reflect.Value) {
		m := v.Addr().Interface().(*transport.ChainSnapshot)
		m.Parts = 1 + m.Parts%transport.MaxCount
		m.Part %= m.Parts
	},
	// A batch's specs (GcsAddTasks) are never nil.
	reflect.TypeFor[*transport.TaskSpec](): func(v reflect.Value) {
		if v.IsNil() {
			v.Set(reflect.ValueOf(new(transport.TaskSpec)))
		}
	},
}

// validActorName is q as the codec carries it (transport.CheckActorName):
// a bare name or a namespace, a NUL and a name, each without another NUL
// and bounded. A drawn name with a NUL keeps it as the separator.
func validActorName(q string) string { return validName(q, transport.MaxActorName) }

// validName is q as the codec carries an actor's or a placement group's
// name whose part after the namespace is at most max bytes.
func validName(q string, max int) string {
	ns, name, qualified := strings.Cut(q, "\x00")
	name = truncate(strings.ReplaceAll(name, "\x00", ""), max)
	if !qualified {
		return name
	}
	ns = truncate(ns, transport.MaxNamespace)
	if ns == "" || name == "" {
		return name
	}
	return transport.QualifiedName(ns, name)
}

// validCalls is c as the codec carries it: a retry budget of -1 or more
// (carried only when set), a bound on pending calls within int32.
func validCalls(c transport.CallDefaults) transport.CallDefaults {
	if c.RetriesSet {
		c.Retries = int32(abs(int64(c.Retries))%(math.MaxInt32+2) - 1)
	} else {
		c.Retries = 0
	}
	c.Pending %= math.MaxInt32 + 1
	return c
}

// custom builds a bundle of custom amounts from name, amount pairs, in the
// order given (sorted or not).
func custom(pairs ...any) transport.Resources {
	var r transport.Resources
	for i := 0; i < len(pairs); i += 2 {
		r.Custom = append(r.Custom, transport.Quantity{Name: pairs[i].(string), Amount: int64(pairs[i+1].(int))})
	}
	return r
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func abs(x int64) int64 {
	if x < 0 {
		if x == -x { // MinInt64
			return 0
		}
		return -x
	}
	return x
}

var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(), // the codec does not tell nil from empty
	cmpopts.EquateNaNs(),
	cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
	cmp.Exporter(func(reflect.Type) bool { return true }),
}

const (
	maxDepth = 4 // nesting depth of generated containers and pointers
	maxElems = 4 // elements per generated slice or map (byte slices: 64)
)

// fill sets v (settable) to a random value drawn from t, recursively; it
// knows nothing of message types, so messages added later are covered.
func fill(t *rapid.T, v reflect.Value, label string, depth int) {
	ty := v.Type()
	switch ty.Kind() {
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(t, label))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := ty.Bits()
		lo, hi := int64(math.MinInt64)>>(64-bits), int64(math.MaxInt64)>>(64-bits)
		v.SetInt(rapid.Int64Range(lo, hi).Draw(t, label))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(rapid.Uint64Range(0, math.MaxUint64>>(64-ty.Bits())).Draw(t, label))
	case reflect.Float32:
		v.SetFloat(float64(rapid.Float32().Draw(t, label)))
	case reflect.Float64:
		v.SetFloat(rapid.Float64().Draw(t, label))
	case reflect.String:
		v.SetString(rapid.String().Draw(t, label))
	case reflect.Slice:
		if ty.Elem().Kind() == reflect.Uint8 {
			b := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, label)
			v.Set(reflect.ValueOf(b).Convert(ty))
			break
		}
		n := 0
		if depth < maxDepth {
			n = rapid.IntRange(0, maxElems).Draw(t, label+".len")
		}
		s := reflect.MakeSlice(ty, n, n)
		for i := range n {
			fill(t, s.Index(i), fmt.Sprintf("%s[%d]", label, i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fill(t, v.Index(i), fmt.Sprintf("%s[%d]", label, i), depth+1)
		}
	case reflect.Map:
		n := 0
		if depth < maxDepth {
			n = rapid.IntRange(0, maxElems).Draw(t, label+".len")
		}
		m := reflect.MakeMapWithSize(ty, n)
		for i := range n {
			k, e := reflect.New(ty.Key()).Elem(), reflect.New(ty.Elem()).Elem()
			fill(t, k, fmt.Sprintf("%s.key%d", label, i), depth+1)
			fill(t, e, fmt.Sprintf("%s.val%d", label, i), depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if depth < maxDepth && rapid.Bool().Draw(t, label+".set") {
			p := reflect.New(ty.Elem())
			fill(t, p.Elem(), label, depth+1)
			v.Set(p)
		}
	case reflect.Struct:
		if ty == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Unix(0, rapid.Int64().Draw(t, label))))
			break
		}
		for i := range ty.NumField() {
			if f := ty.Field(i); f.IsExported() {
				fill(t, v.Field(i), label+"."+f.Name, depth+1)
			}
		}
	case reflect.Interface:
		if ty == reflect.TypeFor[transport.Message]() && depth < maxDepth {
			ks := transport.Kinds()
			m, _ := transport.New(rapid.SampledFrom(ks).Draw(t, label+".kind"))
			fill(t, reflect.ValueOf(m).Elem(), label, depth+1)
			v.Set(reflect.ValueOf(m))
		}
		// Other interfaces (and chans, funcs) stay zero: no codec can carry them.
	}
	if c := canonical[ty]; c != nil && v.CanAddr() {
		c(v)
	}
}

// errKindCauses brings a random error kind and causes to ones a value
// carries: a kind below 0x80, and causes only with a kind.
func errKindCauses(kind uint8, causes uint32) (uint8, uint32) {
	kind &= 0x7f
	if kind == 0 {
		causes = 0
	}
	return kind, causes
}

// randomMessage draws a message of kind k with every exported field random.
func randomMessage(t *rapid.T, k transport.Kind) transport.Message {
	m, err := transport.New(k)
	if err != nil {
		t.Fatalf("New(%d): %v", k, err)
	}
	fill(t, reflect.ValueOf(m).Elem(), fmt.Sprintf("%T", m), 0)
	return m
}

func forEachKind(t *testing.T, f func(t *rapid.T, k transport.Kind)) {
	ks := transport.Kinds()
	require.NotEmpty(t, ks)
	for _, k := range ks {
		m, err := transport.New(k)
		require.NoError(t, err)
		require.Equal(t, k, m.Kind(), "%T registered under kind %d reports kind %d", m, k, m.Kind())
		t.Run(fmt.Sprintf("%d_%T", k, m), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) { f(rt, k) })
		})
	}
}

// TestRoundTripEveryKind: every registered kind, filled at random, decodes
// to what was encoded, and re-encodes to the same bytes.
func TestRoundTripEveryKind(t *testing.T) {
	forEachKind(t, func(t *rapid.T, k transport.Kind) {
		m := randomMessage(t, k)
		body := transport.Marshal(nil, m)
		got, err := transport.Unmarshal(body)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)): %v", m, err)
		}
		if d := cmp.Diff(m, got, cmpOpts); d != "" {
			t.Fatalf("round trip of %T (-sent +got):\n%s", m, d)
		}
		if again := transport.Marshal(nil, got); !bytes.Equal(body, again) {
			t.Fatalf("re-encoding %T differs:\n%x\n%x", m, body, again)
		}
		want := int64(len(body) + transport.FrameHeaderBytes)
		if s, ok := m.(transport.Sized); ok {
			want += s.VirtualBytes()
		}
		if n, _ := transport.WireSize(nil, m); n != want {
			t.Fatalf("WireSize %d, want %d", n, want)
		}
	})
}

// TestTruncatedAndTrailing: every strict prefix of a valid body is an error,
// and so is a valid body with bytes after it.
func TestTruncatedAndTrailing(t *testing.T) {
	forEachKind(t, func(t *rapid.T, k transport.Kind) {
		body := transport.Marshal(nil, randomMessage(t, k))
		for i := range len(body) {
			if m, err := transport.Unmarshal(body[:i]); err == nil {
				t.Fatalf("prefix of %d/%d bytes decoded as %+v", i, len(body), m)
			}
		}
		extra := rapid.SliceOfN(rapid.Byte(), 1, 8).Draw(t, "extra")
		_, err := transport.Unmarshal(append(body, extra...))
		if !errors.Is(err, transport.ErrTrailingData) {
			t.Fatalf("trailing bytes: got %v, want ErrTrailingData", err)
		}
	})
}

// TestHostileBodies: handcrafted bad bodies fail with the right sentinel.
func TestHostileBodies(t *testing.T) {
	v := byte(transport.ProtocolVersion)
	ping := []byte{v, byte(transport.KindPing), 0, 0} // header, Seq 0
	uv := func(b []byte, x uint64) []byte { return append(b, binaryUvarint(x)...) }
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"empty", nil, transport.ErrShortBuffer},
		{"version only", []byte{v}, transport.ErrShortBuffer},
		{"bad version", []byte{v + 1, byte(transport.KindPing), 0}, transport.ErrBadVersion},
		{"version zero", []byte{0, byte(transport.KindPing), 0}, transport.ErrBadVersion},
		{"kind zero", []byte{v, 0, 0}, transport.ErrUnknownKind},
		{"unknown kind", []byte{v, 0xff, 0x03}, transport.ErrUnknownKind},
		{"kind beyond registry", []byte{v, 0xff, 0xff}, transport.ErrUnknownKind},
		{"huge payload count", uv(slicesClone(ping), 1<<62), transport.ErrTooLarge},
		{"count above remaining", append(uv(slicesClone(ping), 5), 1, 2), transport.ErrTooLarge},
		{"count above MaxFrameBytes", uv(slicesClone(ping), transport.MaxFrameBytes+1), transport.ErrTooLarge},
		{"overlong varint", append(slicesClone(ping), bytes.Repeat([]byte{0xff}, 11)...), transport.ErrShortBuffer},
		{"missing payload", ping, transport.ErrShortBuffer},
		{"trailing", append(uv(slicesClone(ping), 0), 9), transport.ErrTrailingData},
		{"returns above MaxReturns", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{NumReturns: transport.MaxReturns + 1}}), transport.ErrTooLarge},
		{"returns 2^32-1", transport.Marshal(nil, &transport.ActorCall{Spec: transport.TaskSpec{NumReturns: 1<<32 - 1}}), transport.ErrTooLarge},
		{"negative mean task time", transport.Marshal(nil, &transport.Heartbeat{MeanTaskTime: -time.Second}), transport.ErrInvalid},
		{"negative mean task time in a status", transport.Marshal(nil, &transport.StatusReply{Nodes: []transport.NodeStatus{{MeanTaskTime: -time.Second}}}), transport.ErrInvalid},
		{"snapshot part past its parts", transport.Marshal(nil, &transport.ChainSnapshot{Part: 2, Parts: 2}), transport.ErrInvalid},
		{"negative request", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Resources: transport.Resources{CPU: -1}}}), transport.ErrInvalid},
		{"negative custom request", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Resources: custom("a", -1)}}), transport.ErrInvalid},
		{"negative capacity", transport.Marshal(nil, &transport.RegisterNode{Total: transport.Resources{GPU: -1}}), transport.ErrInvalid},
		{"unsorted names", transport.Marshal(nil, &transport.Heartbeat{Available: custom("b", 1, "a", 1)}), transport.ErrInvalid},
		{"repeated name", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Resources: custom("a", 1, "a", 1)}}), transport.ErrInvalid},
		{"amount beyond bound", transport.Marshal(nil, &transport.Heartbeat{Available: transport.Resources{CPU: -transport.MaxResourceUnits - 1}}), transport.ErrTooLarge},
		{"actor max concurrency above bound", transport.Marshal(nil, &transport.PlaceTask{Spec: concurrentSpec(transport.MaxActorConcurrency + 1)}), transport.ErrTooLarge},
		{"actor max concurrency 2^32-1", transport.Marshal(nil, &transport.ActorCall{Spec: concurrentSpec(1<<32 - 1)}), transport.ErrTooLarge},
		{"actor max concurrency with replay", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Creation: true, Replay: true, MaxConcurrency: 2}}}), transport.ErrInvalid},
		{"actor max concurrency with checkpoints", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Creation: true, CheckpointEvery: 1, MaxConcurrency: 4}}}), transport.ErrInvalid},
		{"actor max concurrency flagged 0", flaggedZeroConcurrency(), transport.ErrInvalid},
		{"concurrency groups flagged but none", flaggedNoGroups(), transport.ErrInvalid},
		{"call's concurrency group flagged but empty", flaggedEmptyGroup(), transport.ErrInvalid},
		{"too many concurrency groups", groupsSpec(manyGroups(transport.MaxConcurrencyGroups+1, 1)...), transport.ErrTooLarge},
		{"concurrency groups' limits above the bound", groupsSpec(manyGroups(2, transport.MaxActorConcurrency/2)...), transport.ErrTooLarge},
		{"concurrency group limit 0", groupsSpec(transport.ConcurrencyGroup{Name: "io"}), transport.ErrInvalid},
		{"concurrency group limit above the bound", groupsSpec(transport.ConcurrencyGroup{Name: "io", Limit: transport.MaxActorConcurrency + 1}), transport.ErrTooLarge},
		{"concurrency group limit 2^32-1", groupsSpec(transport.ConcurrencyGroup{Name: "io", Limit: 1<<32 - 1}), transport.ErrTooLarge},
		{"concurrency group with an empty name", groupsSpec(transport.ConcurrencyGroup{Limit: 1}), transport.ErrInvalid},
		{"concurrency group name too long", groupsSpec(transport.ConcurrencyGroup{Name: strings.Repeat("x", transport.MaxConcurrencyGroupName+1), Limit: 1}), transport.ErrTooLarge},
		{"concurrency groups unsorted", groupsSpec(transport.ConcurrencyGroup{Name: "io", Limit: 1}, transport.ConcurrencyGroup{Name: "compute", Limit: 1}), transport.ErrInvalid},
		{"concurrency groups repeated", groupsSpec(transport.ConcurrencyGroup{Name: "io", Limit: 1}, transport.ConcurrencyGroup{Name: "io", Limit: 2}), transport.ErrInvalid},
		{"concurrency groups with replay", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Creation: true, Replay: true, Extra: &transport.SpecExtra{Groups: []transport.ConcurrencyGroup{{Name: "io", Limit: 1}}}}}}), transport.ErrInvalid},
		{"concurrency groups with checkpoints", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Creation: true, CheckpointEvery: 2, Extra: &transport.SpecExtra{Groups: []transport.ConcurrencyGroup{{Name: "io", Limit: 1}}}}}}), transport.ErrInvalid},
		{"concurrency groups on a method call", transport.Marshal(nil, &transport.ActorCall{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Extra: &transport.SpecExtra{Groups: []transport.ConcurrencyGroup{{Name: "io", Limit: 1}}}}}}), transport.ErrInvalid},
		{"a creation's call group", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Creation: true, Extra: &transport.SpecExtra{Group: "io"}}}}), transport.ErrInvalid},
		{"call's concurrency group name too long", transport.Marshal(nil, &transport.ActorCall{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Extra: &transport.SpecExtra{Group: strings.Repeat("x", transport.MaxConcurrencyGroupName+1)}}}}), transport.ErrTooLarge},
		{"custom beyond bound", transport.Marshal(nil, &transport.RegisterNode{Total: custom("a", math.MaxInt64)}), transport.ErrTooLarge},
		// Namespaces (protocol 49): a spec's job namespace and a qualified
		// actor name are checked as they decode.
		{"spec namespace with a NUL", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Extra: &transport.SpecExtra{Namespace: "a\x00b"}}}}), transport.ErrInvalid},
		{"spec namespace too long", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Extra: &transport.SpecExtra{Namespace: strings.Repeat("n", transport.MaxNamespace+1)}}}}), transport.ErrTooLarge},
		{"actor name with an empty namespace", transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{Act: &transport.ActorSpec{Creation: true, Name: "\x00svc"}}}), transport.ErrInvalid},
		{"actor name empty in its namespace", transport.Marshal(nil, &transport.GcsActorUpdate{Name: "ns\x00"}), transport.ErrInvalid},
		{"actor name with two NULs", transport.Marshal(nil, &transport.GcsLookupActor{Name: "ns\x00a\x00b"}), transport.ErrInvalid},
		{"actor name too long", transport.Marshal(nil, &transport.ActorInfo{Name: transport.QualifiedName("ns", strings.Repeat("x", transport.MaxActorName+1))}), transport.ErrTooLarge},
		{"actor name's namespace too long", transport.Marshal(nil, &transport.GcsLookupActor{Name: transport.QualifiedName(strings.Repeat("n", transport.MaxNamespace+1), "svc")}), transport.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := transport.Unmarshal(tt.body)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// TestRandomBodiesNeverPanic: arbitrary bytes (often with a valid header, so
// the message decoders see them) decode or fail, never panic; whatever
// decodes re-encodes to something that decodes to the same message.
func TestRandomBodiesNeverPanic(t *testing.T) {
	ks := transport.Kinds()
	rapid.Check(t, func(t *rapid.T) {
		var body []byte
		if rapid.Bool().Draw(t, "valid header") {
			k := rapid.SampledFrom(ks).Draw(t, "kind")
			body = []byte{transport.ProtocolVersion, byte(k), byte(k >> 8)}
		}
		body = append(body, rapid.SliceOfN(rapid.Byte(), 0, 256).Draw(t, "rest")...)
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

func binaryUvarint(x uint64) []byte {
	var b []byte
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

// TestSpecSizeMatchesEncoding: SpecSize counts exactly the bytes
// Encoder.Spec writes, for any spec (arguments by value and by reference,
// custom resources, with and without actor fields, extreme numbers).
func TestSpecSizeMatchesEncoding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := new(transport.TaskSpec)
		fill(t, reflect.ValueOf(spec).Elem(), "spec", 1)
		var e transport.Encoder
		e.Spec(spec)
		require.Equal(t, e.Len(), transport.SpecSize(spec))
	})
	var e transport.Encoder
	e.Spec(&transport.TaskSpec{})
	require.Equal(t, e.Len(), transport.SpecSize(&transport.TaskSpec{}))
}

// TestKnownWireSize: a batch built with Add knows the size WireSize would
// measure by encoding it; one not measured throughout does not claim to.
func TestKnownWireSize(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var b transport.GcsAddTasks
		n := rapid.IntRange(0, 300).Draw(t, "n")
		for i := range n {
			spec := new(transport.TaskSpec)
			fill(t, reflect.ValueOf(spec).Elem(), fmt.Sprintf("spec%d", i), 1)
			b.Add(spec, true)
		}
		got, ok := transport.KnownWireSize(&b)
		if n == 0 {
			require.False(t, ok)
			return
		}
		require.True(t, ok)
		want, _ := transport.WireSize(nil, &b)
		require.Equal(t, want, got)
		b.Add(new(transport.TaskSpec), false) // not measured
		_, ok = transport.KnownWireSize(&b)
		require.False(t, ok)
		b.Reset()
		b.Add(new(transport.TaskSpec), true)
		got, ok = transport.KnownWireSize(&b)
		require.True(t, ok)
		want, _ = transport.WireSize(nil, &b)
		require.Equal(t, want, got)
	})
}

// TestTaskSpecSize: a spec is allocated per task and lives while the task
// is in flight, the largest thing a million queued tasks hold; its fields
// are ordered so that it has no padding to speak of, and the actor fields
// live behind a pointer, so it fits the allocator's 160-byte size class
// (it was 208 with them inline, 216 with Owner beside Parent).
func TestTaskSpecSize(t *testing.T) {
	if n := unsafe.Sizeof(transport.TaskSpec{}); n > 160 {
		t.Fatalf("TaskSpec is %d bytes, more than the 160-byte size class", n)
	}
	// An actor call allocates its ActorSpec too: the concurrency groups
	// live behind a pointer, so it stays in the 80-byte class (112 with
	// them inline).
	if n := unsafe.Sizeof(transport.ActorSpec{}); n > 80 {
		t.Fatalf("ActorSpec is %d bytes, more than the 80-byte size class", n)
	}
}

// TestSetActCopies: specs are copied by value (a message's Spec, a
// resubmission) and then share Act; SetAct gives the changed spec a fresh
// one, so the copies made before keep their fields.
func TestSetActCopies(t *testing.T) {
	var normal transport.TaskSpec
	require.Equal(t, transport.ActorSpec{}, normal.A())
	require.False(t, normal.IsCreation())

	orig := transport.TaskSpec{ID: 7, Actor: 3, Act: &transport.ActorSpec{Caller: 5, Seq: 2, SeqBase: 1}}
	cp := orig
	cp.SetAct(func(a *transport.ActorSpec) { a.SeqBase = 2 })
	require.Equal(t, uint64(1), orig.A().SeqBase, "the original keeps its SeqBase")
	require.Equal(t, transport.ActorSpec{Caller: 5, Seq: 2, SeqBase: 2}, cp.A(), "the copy has the rest of its fields")

	normal.SetAct(func(a *transport.ActorSpec) { a.Creation = true })
	require.True(t, normal.IsCreation())
}

// TestNamespaceRoundTrip: a spec's job namespace and qualified actor
// names cross the codec intact (protocol 49), and a spec without a
// namespace is as long as before.
func TestNamespaceRoundTrip(t *testing.T) {
	q := transport.QualifiedName("shared", "svc")
	ns, name := transport.SplitActorName(q)
	require.Equal(t, "shared", ns)
	require.Equal(t, "svc", name)
	assert.Equal(t, `"svc" in namespace "shared"`, transport.ActorNameText(q))
	plain := transport.TaskSpec{Func: "f", Act: &transport.ActorSpec{Creation: true, Name: q}}
	withNS := plain
	withNS.Act = &transport.ActorSpec{Creation: true, Name: q, Extra: &transport.SpecExtra{Namespace: "shared", Calls: transport.CallDefaults{Pending: 3}}}
	for _, spec := range []transport.TaskSpec{plain, withNS, {Func: "g", Act: &transport.ActorSpec{Extra: &transport.SpecExtra{Namespace: "x"}}}} {
		m, err := transport.Unmarshal(transport.Marshal(nil, &transport.PlaceTask{Spec: spec}))
		require.NoError(t, err)
		got := m.(*transport.PlaceTask).Spec
		assert.Equal(t, spec.A().Name, got.A().Name)
		assert.Equal(t, spec.A().Namespace(), got.A().Namespace())
		assert.Equal(t, spec.A().Calls(), got.A().Calls())
		assert.Equal(t, transport.SpecSize(&spec), transport.SpecSize(&got))
	}
	a, b := plain, withNS
	assert.Equal(t, transport.SpecSize(&a)+2+len("shared")+1, transport.SpecSize(&b), "a flags byte, the pending bound, the namespace")
	for _, m := range []transport.Message{&transport.GcsLookupActor{Name: q}, &transport.GcsActorUpdate{Name: q}, &transport.ActorInfo{Name: q, Found: true}} {
		got, err := transport.Unmarshal(transport.Marshal(nil, m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
}
