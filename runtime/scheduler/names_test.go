package scheduler

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPolicyNames: the one list of names holds every built-in once, in
// the format's order, then a program's own; each name resolves.
func TestPolicyNames(t *testing.T) {
	names := PolicyNames()
	require.Len(t, names, len(builtins))
	for _, n := range names {
		p, err := NewPolicy(n)
		require.NoError(t, err)
		require.Equal(t, n, p.Name())
	}
	own := ownPolicy("mine")
	require.Equal(t, append(names, "mine"), PolicyNames(own))
	p, err := NewPolicy("mine", own)
	require.NoError(t, err)
	require.Equal(t, own, p)
	_, err = NewPolicy("mine")
	require.ErrorIs(t, err, ErrUnknownPolicy)
	_, err = NewPolicy("mine", own, own)
	require.ErrorIs(t, err, ErrBadPolicy)
	_, err = NewPolicy("random", ownPolicy("random"))
	require.ErrorIs(t, err, ErrBadPolicy)
}

type ownPolicy string

func (o ownPolicy) Name() string                              { return string(o) }
func (ownPolicy) Local(bool, int, int) bool                   { return false }
func (ownPolicy) Pick(*Decision, []Candidate, *rand.Rand) int { return 0 }
