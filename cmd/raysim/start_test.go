package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/deploy"
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

// TestTokenPrecedence: every command follows one rule, which the docs and
// the help state: an explicit --token-file beats $RAYSIM_TOKEN, which beats
// $HOME/.raysim/token (the docs said the environment won; the code let the
// flag win, and start and status told it differently).
func TestTokenPrecedence(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("from-file\n"), 0o600))

	t.Setenv(deploy.TokenEnv, "from-env")
	for name, load := range map[string]func(string) ([]byte, error){"loadToken": loadToken, "headToken": headToken} {
		got, err := load(file)
		require.NoError(t, err, name)
		require.Equal(t, "from-file", string(got), "%s: --token-file beats $RAYSIM_TOKEN", name)
		got, err = load("")
		require.NoError(t, err, name)
		require.Equal(t, "from-env", string(got), "%s: $RAYSIM_TOKEN without --token-file", name)
	}
	_, err := os.Stat(filepath.Join(home, ".raysim", "token"))
	require.ErrorIs(t, err, os.ErrNotExist, "a head given $RAYSIM_TOKEN generates no token file")

	t.Setenv(deploy.TokenEnv, "")
	_, err = loadToken("")
	require.Error(t, err, "no flag, no environment, no default file")
	gen, err := headToken("")
	require.NoError(t, err)
	got, err := loadToken("")
	require.NoError(t, err)
	require.Equal(t, gen, got, "the head generated the default file; others read it")
}
