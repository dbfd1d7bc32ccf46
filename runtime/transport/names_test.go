package transport_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// TestNamesOnTheWire: a listing's question and answer, and placement
// groups' qualified names, round-trip; what no peer of this protocol
// sends is refused at decode: a namespace or name with a NUL byte where
// none may be, an empty listed name, a page longer than MaxListedNames,
// a group's name longer than MaxGroupName within its namespace.
func TestNamesOnTheWire(t *testing.T) {
	roundTrip := func(m transport.Message) transport.Message {
		t.Helper()
		got, err := transport.Unmarshal(transport.Marshal(nil, m))
		require.NoError(t, err, "%T", m)
		return got
	}
	refused := func(m transport.Message, what string) {
		t.Helper()
		_, err := transport.Unmarshal(transport.Marshal(nil, m))
		require.Error(t, err, what)
	}
	q := transport.QualifiedName("ns", "a")
	require.Equal(t, &transport.GcsListNames{Seq: 3, Namespace: "ns", After: q}, roundTrip(&transport.GcsListNames{Seq: 3, Namespace: "ns", After: q}))
	require.Equal(t, &transport.GcsListNames{Seq: 4}, roundTrip(&transport.GcsListNames{Seq: 4}), "every namespace, from the first")
	refused(&transport.GcsListNames{Namespace: "a\x00b"}, "a namespace with a NUL")
	refused(&transport.GcsListNames{Namespace: strings.Repeat("n", transport.MaxNamespace+1)}, "a namespace too long")
	refused(&transport.GcsListNames{After: "\x00a"}, "an After with an empty namespace")

	page := &transport.NamedActors{Seq: 5, More: true, Names: []string{q, transport.QualifiedName("ns", "b")}}
	require.Equal(t, page, roundTrip(page))
	refused(&transport.NamedActors{Names: []string{q, ""}}, "an empty name")
	refused(&transport.NamedActors{Names: []string{"ns\x00"}}, "an empty name in its namespace")
	many := make([]string, transport.MaxListedNames+1)
	for i := range many {
		many[i] = q
	}
	refused(&transport.NamedActors{Names: many}, "a page too long")

	long := transport.QualifiedName(strings.Repeat("n", transport.MaxNamespace), strings.Repeat("g", transport.MaxGroupName))
	create := &transport.GroupCreate{Group: 1, Name: long, Bundles: []transport.Resources{{CPU: transport.ResourceUnit}}}
	require.Equal(t, create, roundTrip(create), "the longest qualified group name")
	require.Equal(t, &transport.GroupLookup{Name: long}, roundTrip(&transport.GroupLookup{Name: long}))
	for _, bad := range []string{
		transport.QualifiedName("ns", strings.Repeat("g", transport.MaxGroupName+1)),
		"ns\x00", "\x00g", "ns\x00g\x00h",
		strings.Repeat("g", transport.MaxGroupName+1),
	} {
		refused(&transport.GroupCreate{Group: 1, Name: bad, Bundles: []transport.Resources{{CPU: transport.ResourceUnit}}}, "GroupCreate "+bad[:min(len(bad), 12)])
		refused(&transport.GroupLookup{Name: bad}, "GroupLookup "+bad[:min(len(bad), 12)])
		refused(&transport.GroupFound{Name: bad}, "GroupFound "+bad[:min(len(bad), 12)])
	}
}
