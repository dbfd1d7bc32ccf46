package transport_test

import (
	"errors"
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
