package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDetachArgsChildCannotDetach: the background child of
// `raysim start --detach` must parse with detach off whatever spelling the
// parent was given (the flag package accepts =1, =t, =TRUE, ... for a bool),
// or it detaches again and spawns children forever. Other flags, including a
// value that happens to read "-detach", reach the child unchanged.
func TestDetachArgsChildCannotDetach(t *testing.T) {
	for _, tc := range []struct {
		args, want []string
	}{
		{[]string{"--head", "--detach"}, []string{"--head", "--detach=false"}},
		{[]string{"-detach", "--head"}, []string{"--head", "--detach=false"}},
		{[]string{"--detach=1", "--head"}, []string{"--head", "--detach=false"}},
		{[]string{"--head", "-detach=t"}, []string{"--head", "--detach=false"}},
		{[]string{"--head", "--detach=T"}, []string{"--head", "--detach=false"}},
		{[]string{"--head", "--detach=TRUE"}, []string{"--head", "--detach=false"}},
		{[]string{"--head", "--detach=True"}, []string{"--head", "--detach=false"}},
		{[]string{"--detach", "--detach=false", "--detach=true", "--head"}, []string{"--head", "--detach=false"}},
		{[]string{"--address", "h:7379", "--name", "-detach", "--detach", "--cpus=2"},
			[]string{"--address", "h:7379", "--name", "-detach", "--cpus=2", "--detach=false"}},
		{[]string{"--head", "--detach", "--"}, []string{"--head", "--detach=false", "--"}},
	} {
		var parent startFlags
		fs := newStartFlagSet(&parent, io.Discard)
		require.NoError(t, fs.Parse(tc.args), "%q", tc.args)
		got := detachArgs(fs, tc.args)
		require.Equal(t, tc.want, got, "detachArgs(%q)", tc.args)
		var child startFlags
		require.NoError(t, newStartFlagSet(&child, io.Discard).Parse(got), "child args %q", got)
		require.False(t, child.detach, "the child of %q detaches again", tc.args)
		require.Equal(t, parent.head, child.head)
		require.Equal(t, parent.name, child.name)
		require.Equal(t, parent.address, child.address)
		require.Equal(t, parent.cpus, child.cpus)
	}
}
