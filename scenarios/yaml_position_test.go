package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A YAML syntax error is reported at the problem's line, not where yaml.v3
// says (the start of the construct being parsed: a tab on line 4 came out
// on line 3, a bad indentation on line 4 on line 1).
func TestYAMLSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"tab indents an entry", "name: x\ncluster:\n  nodes:\n\t- {name: a}\nworkload: [{generator: chain}]\n",
			"x.yaml:4:1: found character that cannot start any token"},
		{"tab violates indentation", "name: x\ncluster:\n  nodes:\n  - name: a\nworkload:\n  - generator: chain\n\tseed: 1\n",
			"x.yaml:7:1: found a tab character that violates indentation"},
		{"bad indentation", "name: x\ncluster:\n  nodes:\n    - {name: a}\n   bad: 1\nworkload: [{generator: chain}]\n",
			"x.yaml:5:4: did not find expected key"},
		{"unclosed flow mapping", "name: x\ncluster:\n  nodes: [{name: a}]\nworkload:\n  - generator: chain\n    params: {length: 3\n  - generator: chain\n",
			"x.yaml:6:5: did not find expected ',' or '}'"},
		{"first line", "cluster: [", "x.yaml:1:1: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// A second document is an error, and the first one's errors are reported
// with it rather than hidden.
func TestSecondDocumentKeepsOtherErrors(t *testing.T) {
	_, err := Parse("x.yaml", []byte("name: x\nseed: q\ncluster: {nodes: [{name: a}]}\nworkload: [{generator: chain}]\n---\nname: y\n"))
	require.Error(t, err)
	assert.Equal(t, "x.yaml:2:7: seed: an integer seed (got \"q\")\nx.yaml:5:1: a second YAML document (after ---): a scenario is one document", err.Error())
}
