package transport_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestValueCauses: an error value's Causes travel behind a flag in its
// ErrKind byte; a value without them encodes as before (one byte), and a
// flag on no error kind is refused.
func TestValueCauses(t *testing.T) {
	plain := transport.Value{Data: []byte("boom"), ErrKind: transport.ErrKindTask}
	e := transport.NewEncoder(nil)
	e.Value(plain)
	short := len(e.Bytes())
	caused := plain
	caused.Causes = 1<<transport.ErrKindActorDied | transport.CauseTimeout
	e = transport.NewEncoder(nil)
	e.Value(caused)
	b := e.Bytes()
	assert.Equal(t, short+3, len(b), "the flag costs no byte, the causes a uvarint")
	d := transport.NewDecoder(b)
	got := d.Value()
	require.NoError(t, d.Err())
	assert.Equal(t, caused, got)

	// Flagged on ErrKindNone: refused.
	bad := append([]byte(nil), b...)
	bad[len(bad)-4] = 0x80
	d = transport.NewDecoder(bad)
	d.Value()
	assert.ErrorIs(t, d.Err(), transport.ErrInvalid)

	// An object chunk carries them too.
	m := &transport.ObjectChunk{Object: transport.ObjectID{Task: 9}, Total: 4, ErrKind: transport.ErrKindTask, Causes: 1 << transport.ErrKindObjectLost, Data: []byte("boom")}
	back, err := transport.Unmarshal(transport.Marshal(nil, m))
	require.NoError(t, err)
	assert.Equal(t, m, back)

	// A user error's: the top bit, its names behind the text.
	user := transport.Value{ErrKind: transport.ErrKindTask, Data: []byte("f on node 2: boom\x00app.quota\x00app.busy"), Causes: transport.CauseUser | 1<<transport.ErrKindActorDied}
	e = transport.NewEncoder(nil)
	e.Value(user)
	d = transport.NewDecoder(e.Bytes())
	got = d.Value()
	require.NoError(t, d.Err())
	assert.Equal(t, user, got)
	assert.Equal(t, "f on node 2: boom", string(transport.ErrText(got)))
	assert.Equal(t, "a\x00b", string(transport.ErrText(transport.Value{ErrKind: transport.ErrKindTask, Data: []byte("a\x00b")})), "without CauseUser, all of it")
}

// TestCancelTaskFlags: CancelTask's flags round-trip, Shallow included.
func TestCancelTaskFlags(t *testing.T) {
	for _, c := range []transport.CancelTask{{Task: 3}, {Task: 3, Force: true}, {Task: 3, Rebuild: true, Shallow: true}, {Task: 3, Force: true, Shallow: true}} {
		m, err := transport.Unmarshal(transport.Marshal(nil, &c))
		require.NoError(t, err)
		assert.Equal(t, c, *m.(*transport.CancelTask))
	}
}
