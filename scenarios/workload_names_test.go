package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A duplicate workload name is reported like every other error (docs/scenarios.md,
// "Loading rules"): at the offending value, with the value in "(got ...)". It was
// reported at the start of the entry's mapping as "(got a mapping)", which named
// neither the clashing name nor where it is written.
func TestDuplicateWorkloadNameNamesTheName(t *testing.T) {
	const y = "cluster:\n  nodes:\n    - {name: head}\nworkload:\n  - generator: parallel\n    name: a\n  - generator: chain\n    name: a\n"
	_, err := Parse("x.yaml", []byte(y))
	require.Error(t, err)
	assert.Equal(t, `x.yaml:8:11: workload.1.name: a unique workload name (got "a")`, err.Error())
}

// The same when the clash is with a defaulted name (GENERATOR-INDEX): the message
// says which name clashes, not "(got a mapping)".
func TestDuplicateDefaultWorkloadNameNamesTheName(t *testing.T) {
	const y = "cluster:\n  nodes:\n    - {name: head}\nworkload:\n  - generator: parallel\n    name: chain-1\n  - generator: chain\n"
	_, err := Parse("x.yaml", []byte(y))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workload.1.name")
	assert.Contains(t, err.Error(), `"chain-1"`)
	assert.NotContains(t, err.Error(), "got a mapping")
}
