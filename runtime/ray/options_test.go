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
		return s, o.apply(&s, 0, nil)
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

// TestOptionsRefusedWhereTheyDoNotApply: every option sets its own bit,
// and apply refuses it on the submissions its rule leaves out (an
// ActorName on a task, a GPUs on a method call), naming it, and takes it
// on the others.
func TestOptionsRefusedWhereTheyDoNotApply(t *testing.T) {
	pg := &PlacementGroup{id: 1, bundles: []transport.Resources{{CPU: 4 * transport.ResourceUnit, GPU: 4 * transport.ResourceUnit}}}
	opts := map[optSet]Option{
		optCPU: CPUs(1), optGPU: GPUs(1), optResource: Resource("x", 1), optMaxRetries: MaxRetries(1),
		optRetryExceptions: RetryExceptions(), optName: Name("n"), optDuration: Duration(1),
		optNodeAffinity: NodeAffinity(1, true), optSpread: Spread(), optDefaultScheduling: DefaultScheduling(),
		optMaxRestarts: MaxRestarts(1), optCheckpoint: CheckpointEvery(1), optReplay: ReplayMethods(),
		optConcurrency: MaxConcurrency(1), optActorName: ActorName("a"), optGroup: InPlacementGroup(pg, 0),
		optDetached: Detached(), optConcurrencyGroups: ConcurrencyGroups(map[string]int{"io": 2}),
		optConcurrencyGroup: ConcurrencyGroup("io"),
		optBackpressure:     GeneratorBackpressure(2),
		optGetIfExists:      GetIfExists(), optMaxPendingCalls: MaxPendingCalls(2),
		optNamespace: ActorNamespace("ns"),
	}
	require.Len(t, opts, len(optRules))
	for i, r := range optRules {
		require.Equal(t, optSet(1)<<i, r.bit, "optRules in bit order")
		o := defaultOptions().with([]Option{opts[r.bit]})
		require.Equal(t, r.bit, o.set, r.name)
		for _, kind := range []uint8{forTask, forActor, forMethod, forGen, forGenMethod} {
			var spec transport.TaskSpec
			o.gen = kind == forGen || kind == forGenMethod
			switch kind {
			case forActor:
				spec.Act = &transport.ActorSpec{Creation: true}
			case forMethod, forGenMethod:
				spec.Actor = 7
			}
			err := o.apply(&spec, 0, nil)
			if r.where&kind != 0 {
				assert.NoError(t, err, "%s on kind %d", r.name, kind)
			} else {
				assert.ErrorIs(t, err, ErrInvalidOption, "%s on kind %d", r.name, kind)
				assert.ErrorContains(t, err, r.name+": for ")
			}
		}
	}
}
