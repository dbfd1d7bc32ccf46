package ray

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestOptionsMakeWellFormedRequests: what a spec asks for is what the wire
// accepts (the decoder refuses negative amounts and repeated or unsorted
// names), so options refuse what cannot be asked and merge what repeats.
func TestOptionsMakeWellFormedRequests(t *testing.T) {
	spec := func(opts ...Option) (transport.TaskSpec, error) {
		o := defaultOptions()
		for _, f := range opts {
			f(&o)
		}
		var s transport.TaskSpec
		return s, o.apply(&s, 0)
	}
	s, err := spec(Resource("b", 1), Resource("a", 2), Resource("b", 3))
	require.NoError(t, err)
	assert.Equal(t, []transport.Quantity{{Name: "a", Amount: 2 * transport.ResourceUnit}, {Name: "b", Amount: 3 * transport.ResourceUnit}},
		s.Resources.Custom, "sorted, and the last amount for a repeated name")
	round, err := transport.Unmarshal(transport.Marshal(nil, &transport.PlaceTask{Spec: s}))
	require.NoError(t, err)
	assert.Equal(t, s.Resources, round.(*transport.PlaceTask).Spec.Resources)

	for name, opt := range map[string]Option{ // each case on its own: order does not matter
		"negative CPU":    CPUs(-1),
		"NaN GPU":         GPUs(math.NaN()),
		"infinite CPU":    CPUs(math.Inf(1)),
		"negative custom": Resource("x", -0.5),
		"NaN custom":      Resource("x", math.NaN()),
		"huge custom":     Resource("x", 1e300),
	} {
		_, err := spec(opt)
		assert.Error(t, err, name)
	}
}
