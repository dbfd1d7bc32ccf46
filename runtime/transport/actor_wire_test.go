package transport_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestActorClassAndCauseOnTheWire: an actor update's and an actor info's
// class and cause travel after flags in the state byte. Without them a
// message is as long as before they existed (the runs of actors without a
// name or an error cause keep their bytes, and their digests); with them
// they round-trip; a cause longer than MaxActorCause is refused at
// decode, and CutCause cuts one to fit.
func TestActorClassAndCauseOnTheWire(t *testing.T) {
	bare := &transport.ActorInfo{Actor: 9, Node: 2, State: transport.ActorDead, Name: "n", Found: true, Restarts: 1, Incarnation: 3}
	plain := transport.Marshal(nil, bare)
	full := *bare
	full.Class, full.Cause = "Counter", "its constructor failed"
	b := transport.Marshal(nil, &full)
	require.Len(t, b, len(plain)+1+len(full.Class)+1+len(full.Cause))
	m, err := transport.Unmarshal(b)
	require.NoError(t, err)
	require.Equal(t, &full, m)
	for _, only := range []transport.ActorInfo{{State: transport.ActorAlive, Class: "C"}, {State: transport.ActorDead, Cause: "why"}} {
		m, err := transport.Unmarshal(transport.Marshal(nil, &only))
		require.NoError(t, err)
		require.Equal(t, &only, m)
	}

	up := &transport.GcsActorUpdate{Actor: 9, State: transport.ActorPending, Name: "n", Class: "Counter"}
	m, err = transport.Unmarshal(transport.Marshal(nil, up))
	require.NoError(t, err)
	require.Equal(t, up, m)
	up.Class = ""
	require.Len(t, transport.Marshal(nil, up), len(transport.Marshal(nil, &transport.GcsActorUpdate{Actor: 9, State: transport.ActorPending, Name: "n"})))

	long := strings.Repeat("é", transport.MaxActorCause) // two bytes a rune
	for _, msg := range []transport.Message{
		&transport.GcsActorUpdate{Actor: 9, State: transport.ActorDead, Cause: long},
		&transport.ActorInfo{Actor: 9, State: transport.ActorDead, Cause: long},
	} {
		_, err := transport.Unmarshal(transport.Marshal(nil, msg))
		require.True(t, errors.Is(err, transport.ErrInvalid), "%T with a %d-byte cause: %v", msg, len(long), err)
	}
	cut := transport.CutCause(long)
	require.LessOrEqual(t, len(cut), transport.MaxActorCause)
	require.True(t, strings.HasSuffix(cut, "é..."), "cut at a rune boundary: %q", cut[len(cut)-8:])
	require.Equal(t, "short", transport.CutCause("short"))
}

// concurrentSpec is a creation spec with the given max concurrency.
func concurrentSpec(n uint32) transport.TaskSpec {
	return transport.TaskSpec{ID: 5, Actor: 5, Act: &transport.ActorSpec{Creation: true, MaxConcurrency: n}}
}

// flaggedZeroConcurrency is a PlaceTask whose spec's concurrency flag is
// set with a count of 0 (no encoder writes it).
func flaggedZeroConcurrency() []byte {
	b := transport.Marshal(nil, &transport.PlaceTask{Spec: concurrentSpec(1)})
	i := bytes.LastIndex(b, []byte{0x02, 0x01}) // Replay's byte with the flag, then the count 1
	if i < 0 {
		panic("no flagged concurrency in the encoding")
	}
	b[i+1] = 0
	return b
}

// TestActorConcurrencyOnTheWire: an actor's max concurrency travels behind
// a flag in Replay's byte: a spec without it is as long as before, and one
// with it round-trips (bad values are refused: TestHostileBodies).
func TestActorConcurrencyOnTheWire(t *testing.T) {
	plain := transport.Marshal(nil, &transport.PlaceTask{Spec: concurrentSpec(0)})
	for _, n := range []uint32{1, 2, 127, 128, transport.MaxActorConcurrency} {
		m := &transport.PlaceTask{Spec: concurrentSpec(n)}
		b := transport.Marshal(nil, m)
		require.Greater(t, len(b), len(plain))
		got, err := transport.Unmarshal(b)
		require.NoError(t, err, "max concurrency %d", n)
		require.Equal(t, n, got.(*transport.PlaceTask).Spec.A().MaxConcurrency)
	}
	got, err := transport.Unmarshal(plain)
	require.NoError(t, err)
	require.Zero(t, got.(*transport.PlaceTask).Spec.A().MaxConcurrency)
	require.NoError(t, transport.CheckConcurrency(transport.ActorSpec{MaxConcurrency: 8}))
	require.ErrorIs(t, transport.CheckConcurrency(transport.ActorSpec{MaxConcurrency: 8, Replay: true}), transport.ErrInvalid)
	require.NoError(t, transport.CheckConcurrency(transport.ActorSpec{MaxConcurrency: 1, Replay: true}))
}

// TestActorDetachedOnTheWire: a detached actor's creation spec says so in
// a flag of its Replay byte (as long as a spec without it), beside Replay
// and MaxConcurrency; a byte with a flag the decoder does not know is
// refused. A creator's "pending" update naming itself the owner is as
// long as one naming none for small node IDs and incarnations.
func TestActorDetachedOnTheWire(t *testing.T) {
	spec := func(a transport.ActorSpec) *transport.PlaceTask {
		a.Creation = true
		return &transport.PlaceTask{Spec: transport.TaskSpec{ID: 5, Actor: 5, Act: &a}}
	}
	plain := transport.Marshal(nil, spec(transport.ActorSpec{}))
	for _, a := range []transport.ActorSpec{{Detached: true}, {Detached: true, Replay: true}, {Detached: true, MaxConcurrency: 4}} {
		m := spec(a)
		b := transport.Marshal(nil, m)
		if a.MaxConcurrency == 0 {
			require.Len(t, b, len(plain))
		}
		got, err := transport.Unmarshal(b)
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	got, err := transport.Unmarshal(plain)
	require.NoError(t, err)
	require.False(t, got.(*transport.PlaceTask).Spec.A().Detached)

	// The flags' byte is the one byte that differs between a spec with
	// Replay and one without.
	replay := transport.Marshal(nil, spec(transport.ActorSpec{Replay: true}))
	at := -1
	for i := range plain {
		if plain[i] != replay[i] {
			at = i
		}
	}
	require.GreaterOrEqual(t, at, 0)
	bad := bytes.Clone(plain)
	bad[at] = 0x80
	_, err = transport.Unmarshal(bad)
	require.ErrorIs(t, err, transport.ErrInvalid, "an unknown flag")

	up := transport.Marshal(nil, &transport.GcsActorUpdate{Actor: 9, State: transport.ActorPending})
	owned := transport.Marshal(nil, &transport.GcsActorUpdate{Actor: 9, State: transport.ActorPending, Owner: 3, Incarnation: 1})
	require.Len(t, owned, len(up))
}

// groupsSpec is a PlaceTask of a creation with these concurrency groups,
// encoded as given (the encoder checks nothing).
func groupsSpec(gs ...transport.ConcurrencyGroup) []byte {
	return transport.Marshal(nil, &transport.PlaceTask{Spec: transport.TaskSpec{ID: 5, Actor: 5,
		Act: &transport.ActorSpec{Creation: true, Extra: &transport.SpecExtra{Groups: gs}}}})
}

// manyGroups is n concurrency groups, sorted by name, of this limit each.
func manyGroups(n int, limit uint32) []transport.ConcurrencyGroup {
	gs := make([]transport.ConcurrencyGroup, n)
	for i := range gs {
		gs[i] = transport.ConcurrencyGroup{Name: fmt.Sprintf("g%04d", i), Limit: limit}
	}
	return gs
}

// flaggedNoGroups is a creation whose groups flag is set with a count of
// 0 (no encoder writes it).
func flaggedNoGroups() []byte {
	b := groupsSpec(transport.ConcurrencyGroup{Name: "g", Limit: 1})
	one := []byte{0x08, 1, 1, 'g', 1} // the flag, one group, its name "g", its limit 1
	i := bytes.LastIndex(b, one)
	if i < 0 {
		panic("no flagged groups in the encoding")
	}
	return append(append(slices.Clone(b[:i]), 0x08, 0), b[i+len(one):]...)
}

// flaggedEmptyGroup is a method call whose group flag is set with an
// empty name (no encoder writes it).
func flaggedEmptyGroup() []byte {
	b := transport.Marshal(nil, &transport.ActorCall{Spec: transport.TaskSpec{ID: 6, Actor: 5, Act: &transport.ActorSpec{Extra: &transport.SpecExtra{Group: "g"}, Seq: 1}}})
	one := []byte{0x10, 1, 'g'} // the flag, then the name "g"
	i := bytes.LastIndex(b, one)
	if i < 0 {
		panic("no flagged group in the encoding")
	}
	return append(append(slices.Clone(b[:i]), 0x10, 0), b[i+len(one):]...)
}

// TestConcurrencyGroupsOnTheWire: a creation's concurrency groups and a
// call's group travel behind flags in Replay's byte: specs without them
// are as long as before, and specs with them round-trip (bad ones are
// refused: TestHostileBodies). CheckConcurrency holds groups to what the
// decoder takes.
func TestConcurrencyGroupsOnTheWire(t *testing.T) {
	plain := groupsSpec()
	gs := []transport.ConcurrencyGroup{{Name: "compute", Limit: 4}, {Name: "io", Limit: 2}}
	b := groupsSpec(gs...)
	require.Len(t, b, len(plain)+1+(1+len("compute")+1)+(1+len("io")+1))
	got, err := transport.Unmarshal(b)
	require.NoError(t, err)
	require.Equal(t, gs, got.(*transport.PlaceTask).Spec.A().ConcurrencyGroups())
	most := manyGroups(transport.MaxConcurrencyGroups, 1)
	got, err = transport.Unmarshal(groupsSpec(most...))
	require.NoError(t, err, "the most groups")
	require.Equal(t, most, got.(*transport.PlaceTask).Spec.A().ConcurrencyGroups())
	long := []transport.ConcurrencyGroup{{Name: strings.Repeat("x", transport.MaxConcurrencyGroupName), Limit: transport.MaxActorConcurrency - 1}}
	got, err = transport.Unmarshal(groupsSpec(long...))
	require.NoError(t, err, "the longest name, the largest limit beside the default group")
	require.Equal(t, long, got.(*transport.PlaceTask).Spec.A().ConcurrencyGroups())

	call := func(group string) *transport.ActorCall {
		a := &transport.ActorSpec{Caller: 1, Seq: 3}
		if group != "" {
			a.Extra = &transport.SpecExtra{Group: group}
		}
		return &transport.ActorCall{Spec: transport.TaskSpec{ID: 6, Actor: 5, Act: a}}
	}
	bare := transport.Marshal(nil, call(""))
	named := transport.Marshal(nil, call("io"))
	require.Len(t, named, len(bare)+1+len("io"))
	m, err := transport.Unmarshal(named)
	require.NoError(t, err)
	require.Equal(t, call("io"), m)

	require.NoError(t, transport.CheckConcurrency(transport.ActorSpec{Creation: true, MaxConcurrency: 3, Extra: &transport.SpecExtra{Groups: gs}}))
	require.ErrorIs(t, transport.CheckConcurrency(transport.ActorSpec{Creation: true, Replay: true, Extra: &transport.SpecExtra{Groups: gs}}), transport.ErrInvalid)
	require.ErrorIs(t, transport.CheckConcurrency(transport.ActorSpec{Creation: true, MaxConcurrency: transport.MaxActorConcurrency, Extra: &transport.SpecExtra{Groups: gs}}), transport.ErrTooLarge)
	require.ErrorIs(t, transport.CheckGroupName(""), transport.ErrInvalid)
}

// TestCallDefaultsOnTheWire: an actor's call defaults (max_task_retries,
// max_pending_calls) travel in its creation spec behind Replay's specMore
// flag, and in actor updates and infos behind a flag in the state byte.
// Without them a spec and a message are as long as before they existed;
// with them they round-trip; a budget below -1, a flagged bound of 0 and
// an unknown flag are refused.
func TestCallDefaultsOnTheWire(t *testing.T) {
	creation := func(c transport.CallDefaults) *transport.PlaceTask {
		a := &transport.ActorSpec{Creation: true, Name: "n"}
		if !c.IsZero() {
			a.Extra = &transport.SpecExtra{Calls: c}
		}
		return &transport.PlaceTask{Spec: transport.TaskSpec{ID: 5, Actor: 5, Act: a}}
	}
	plain := transport.Marshal(nil, creation(transport.CallDefaults{}))
	for _, c := range []transport.CallDefaults{
		{Retries: 2, RetriesSet: true, Pending: 3},
		{Retries: -1, RetriesSet: true},
		{RetriesSet: true}, // MaxRetries(0): set, and told apart from not set
		{Pending: 1 << 30},
	} {
		m := creation(c)
		b := transport.Marshal(nil, m)
		require.Greater(t, len(b), len(plain), "%+v", c)
		got, err := transport.Unmarshal(b)
		require.NoError(t, err, "%+v", c)
		require.Equal(t, c, got.(*transport.PlaceTask).Spec.A().Calls())
		require.Equal(t, len(b)-len(plain), transport.SpecSize(&m.Spec)-transport.SpecSize(&creation(transport.CallDefaults{}).Spec))

		info := &transport.ActorInfo{Actor: 5, State: transport.ActorAlive, Name: "n", Found: true, Class: "C", Calls: c}
		got, err = transport.Unmarshal(transport.Marshal(nil, info))
		require.NoError(t, err)
		require.Equal(t, info, got)
		up := &transport.GcsActorUpdate{Actor: 5, State: transport.ActorPending, Name: "n", Calls: c}
		got, err = transport.Unmarshal(transport.Marshal(nil, up))
		require.NoError(t, err)
		require.Equal(t, up, got)
	}
	require.Len(t, transport.Marshal(nil, &transport.ActorInfo{Actor: 5, Name: "n"}), len(transport.Marshal(nil, &transport.ActorInfo{Actor: 5, Name: "n", Calls: transport.CallDefaults{}})))

	// Hostile bytes: the info's tail is the flags byte then the fields.
	flagged := transport.Marshal(nil, &transport.ActorInfo{Actor: 5, State: transport.ActorAlive, Calls: transport.CallDefaults{Pending: 1}})
	base := flagged[:len(flagged)-2] // without the flags byte and the bound
	for name, tail := range map[string][]byte{
		"no flag":         {0},
		"unknown flag":    {0x04},
		"budget of -2":    {0x01, 3}, // zig-zag 3 is -2
		"flagged 0 bound": {0x02, 0},
	} {
		_, err := transport.Unmarshal(append(slices.Clone(base), tail...))
		require.ErrorIs(t, err, transport.ErrInvalid, name)
	}
}

// TestRetryOnOnTheWire: a task's errors to retry (SpecExtra.RetryOn)
// travel behind the specMore flag; a spec without them is as long as
// before. A list on a spec without RetryExceptions, an empty or NUL name,
// and more than MaxRetryOn names are refused.
func TestRetryOnOnTheWire(t *testing.T) {
	task := func(retry bool, names ...string) *transport.PlaceTask {
		s := transport.TaskSpec{ID: 7, Func: "f", RetryExceptions: retry}
		if len(names) > 0 {
			s.Act = &transport.ActorSpec{Extra: &transport.SpecExtra{RetryOn: names}}
		}
		return &transport.PlaceTask{Spec: s}
	}
	plain := transport.Marshal(nil, task(true))
	m := task(true, "app.quota", "app.busy")
	b := transport.Marshal(nil, m)
	require.Equal(t, len(plain)+1+1+1+len("app.quota")+1+len("app.busy"), len(b), "flags byte, count, two names")
	require.Equal(t, len(b)-len(plain), transport.SpecSize(&m.Spec)-transport.SpecSize(&task(true).Spec))
	got, err := transport.Unmarshal(b)
	require.NoError(t, err)
	require.Equal(t, []string{"app.quota", "app.busy"}, got.(*transport.PlaceTask).Spec.A().RetryOn())

	many := make([]string, transport.MaxRetryOn+1)
	for i := range many {
		many[i] = fmt.Sprintf("e%d", i)
	}
	for name, m := range map[string]*transport.PlaceTask{
		"without RetryExceptions": task(false, "app.quota"),
		"an empty name":           task(true, ""),
		"a NUL in a name":         task(true, "a\x00b"),
		"too many names":          task(true, many...),
	} {
		_, err := transport.Unmarshal(transport.Marshal(nil, m))
		require.Error(t, err, name)
		require.True(t, errors.Is(err, transport.ErrInvalid) || errors.Is(err, transport.ErrTooLarge), "%s: %v", name, err)
	}

	// An error value names its registered errors after its text.
	v := transport.Value{ErrKind: transport.ErrKindTask, Causes: transport.CauseUser, Data: []byte("boom\x00app.quota\x00app.busy")}
	require.True(t, transport.NamesError(v, "app.busy"))
	require.True(t, transport.NamesError(v, "app.quota"))
	require.False(t, transport.NamesError(v, "app"))
	require.False(t, transport.NamesError(transport.Value{ErrKind: transport.ErrKindTask, Data: []byte("boom\x00app.busy")}, "app.busy"), "no CauseUser: no names")
}

// TestActorUpdateRestartsOnTheWire: the restarts an actor's shard tells
// its name's shard (GcsActorUpdate.Restarts, protocol 54) travel behind a
// flag in the state byte, after the tail: an update without them is as
// long as before (its runs keep their digests), one with them
// round-trips with its class, cause and call defaults, and a flagged
// count of 0, or one past MaxActorRestarts, is refused at decode.
func TestActorUpdateRestartsOnTheWire(t *testing.T) {
	plain := &transport.GcsActorUpdate{Actor: 9, State: transport.ActorRestarting, Name: "n", Attempt: transport.RestartAttempt(2)}
	b := transport.Marshal(nil, plain)
	counted := *plain
	counted.Restarts = 2
	require.Len(t, transport.Marshal(nil, &counted), len(b)+1)
	for _, up := range []transport.GcsActorUpdate{counted,
		{Actor: 9, State: transport.ActorDead, Name: "n", Class: "C", Cause: "why", Calls: transport.CallDefaults{Retries: 3, RetriesSet: true}, Restarts: transport.MaxActorRestarts},
		{Actor: 9, State: transport.ActorAlive, Restarts: 300}} {
		m, err := transport.Unmarshal(transport.Marshal(nil, &up))
		require.NoError(t, err)
		require.Equal(t, &up, m)
	}

	flagged := slices.Clone(b)
	other := *plain
	other.State = transport.ActorPending
	ob := transport.Marshal(nil, &other)
	state := 0 // the state byte: where the two bodies differ first
	for state < len(b) && b[state] == ob[state] {
		state++
	}
	require.Less(t, state, len(b))
	flagged[state] |= 0x10
	for _, tail := range [][]byte{{0}, binary.AppendUvarint(nil, transport.MaxActorRestarts+1), nil} {
		_, err := transport.Unmarshal(append(slices.Clone(flagged), tail...))
		require.Error(t, err, "restarts %x", tail)
	}
}
