package ray_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/ray"
)

// TestZeroRefIsRefused: a declared, unset Ref names no object. Get and
// GetAll waited for good on object zero (with no timeout), Wait counted it
// as never ready, and a task given it as an argument never ran; each now
// returns ErrZeroRef at once, as Cancel and Free do. A zero Ref inside a
// value still travels (a struct with an unset Ref field encodes) and reads
// back as a zero Ref.
func TestZeroRefIsRefused(t *testing.T) {
	s := newSuite()
	reviewSim(t, s.reg, func(ctx context.Context) {
		var zero ray.Ref[int]
		_, err := ray.Get(ctx, zero)
		assert.ErrorIs(t, err, ray.ErrZeroRef, "Get")
		_, err = ray.GetAll(ctx, []ray.Ref[int]{s.double.Remote(ctx, 1), zero}, -1)
		assert.ErrorIs(t, err, ray.ErrZeroRef, "GetAll")
		_, _, err = ray.Wait(ctx, []ray.Ref[int]{zero}, 1, -1)
		assert.ErrorIs(t, err, ray.ErrZeroRef, "Wait")
		assert.ErrorIs(t, ray.Cancel(ctx, zero), ray.ErrZeroRef, "Cancel")
		assert.ErrorIs(t, ray.Free(ctx, zero), ray.ErrZeroRef, "Free")
		arg := s.double.Remote(ctx, zero)
		assert.ErrorIs(t, arg.Err(), ray.ErrZeroRef, "a task given a zero ref")

		type holder struct{ R ray.Ref[int] }
		b, err := json.Marshal(holder{})
		require.NoError(t, err, "a value holding an unset Ref encodes")
		var back holder
		require.NoError(t, json.Unmarshal(b, &back))
		_, err = ray.Get(ctx, back.R)
		assert.ErrorIs(t, err, ray.ErrZeroRef, "the zero ref read back")

		v, err := ray.Get(ctx, s.double.Remote(ctx, 21))
		require.NoError(t, err)
		assert.Equal(t, 42, v)
	})
}

// TestKillOfZeroHandleIsRefused: Kill of a declared, unset ActorHandle
// told every raylet and the actor table that "actor 0" was dead, and
// returned nil as if an actor had been killed; it is refused as a call
// through it is (ErrActorNotFound).
func TestKillOfZeroHandleIsRefused(t *testing.T) {
	s := newSuite()
	reviewSim(t, s.reg, func(ctx context.Context) {
		var zero ray.ActorHandle[counter]
		assert.ErrorIs(t, ray.Kill(ctx, zero), ray.ErrActorNotFound)
		assert.ErrorIs(t, s.incr.Remote(ctx, zero, 1).Err(), ray.ErrActorNotFound)
	})
}
