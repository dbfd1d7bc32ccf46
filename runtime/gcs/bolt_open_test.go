package gcs

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// boltWithEntries writes a store of a few hundred entries at path and
// closes it.
func boltWithEntries(t *testing.T, path string) {
	t.Helper()
	st, err := OpenBolt(path)
	require.NoError(t, err)
	for i := range 500 {
		st.Put(TableTasks, []byte{byte(i >> 8), byte(i)}, make([]byte, 200))
	}
	require.NoError(t, st.Close())
}

// TestOpenBoltRefusesDamagedFiles: a truncated store file is an error
// (bbolt mapped it and read its freelist past the end: the head died of
// SIGBUS), and so is a file of random bytes; the store itself opens.
func TestOpenBoltRefusesDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	boltWithEntries(t, good)
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	st, err := OpenBolt(good)
	require.NoError(t, err)
	assert.Equal(t, 500, st.Len(TableTasks))
	require.NoError(t, st.Close())

	cut := filepath.Join(dir, "cut.db")
	for _, n := range []int{8192, 12288, 16384} { // its high-water mark is past 100 KiB
		require.NoError(t, os.WriteFile(cut, data[:n], 0o600))
		_, err := OpenBolt(cut)
		assert.ErrorIs(t, err, ErrStoreDamaged, "truncated to %d of %d bytes", n, len(data))
	}
	// Cut only past its high-water mark (bbolt grows the file ahead):
	// nothing it uses is gone, and it opens.
	require.NoError(t, os.WriteFile(cut, data[:len(data)-4096], 0o600))
	st, err = OpenBolt(cut)
	require.NoError(t, err)
	assert.Equal(t, 500, st.Len(TableTasks))
	require.NoError(t, st.Close())
	noise := make([]byte, 65536)
	_, _ = rand.Read(noise)
	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, noise, 0o600))
	_, err = OpenBolt(junk)
	assert.Error(t, err, "random bytes")
}

// TestOpenBoltRefusesAStoreInUse: a store another open holds (another
// process: a second head on the same directory) is ErrStoreInUse after a
// short wait; bbolt's default waited for the lock for good.
func TestOpenBoltRefusesAStoreInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	st, err := OpenBolt(path)
	require.NoError(t, err)
	defer st.Close()
	_, err = OpenBolt(path)
	assert.ErrorIs(t, err, ErrStoreInUse)
}

// TestOpenBoltRefusesTruncatedFileWithTornMeta: bbolt falls back to meta
// page 1 when page 0 is torn, maps the file and reads its freelist: a
// truncated file whose page 0 is bad must be refused too (it passed the
// check, which trusted page 0 alone, and crashed the opener). Run in a
// child process, which a crash would end instead of the test binary.
func TestOpenBoltRefusesTruncatedFileWithTornMeta(t *testing.T) {
	if p := os.Getenv("RAYSIM_OPEN_BOLT"); p != "" {
		st, err := OpenBolt(p)
		if err == nil {
			st.Close()
		}
		if errors.Is(err, ErrStoreDamaged) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "OpenBolt: %v (want ErrStoreDamaged)\n", err)
		os.Exit(3)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	boltWithEntries(t, good)
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	cut := append([]byte(nil), data[:16384]...)
	cut[16+56] ^= 0xff // meta page 0's checksum
	path := filepath.Join(dir, "cut.db")
	require.NoError(t, os.WriteFile(path, cut, 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenBoltRefusesTruncatedFileWithTornMeta$", "-test.count=1")
	cmd.Env = append(os.Environ(), "RAYSIM_OPEN_BOLT="+path)
	out, err := cmd.CombinedOutput()
	lines := strings.SplitN(string(out), "\n", 8)
	require.NoError(t, err, "OpenBolt of a truncated store with a torn meta page 0:\n%s", strings.Join(lines[:min(len(lines), 7)], "\n"))
}

// TestRefusedNameKillsTheNewcomerWhereItIsUp: the host's "alive" of an
// actor under a name another live actor holds reached the name's shard
// (also the actor's) before its creator's "pending": the shard refuses it
// and tells the host to end it (it sent nothing: the actor held its
// resources for good).
func TestRefusedNameKillsTheNewcomerWhereItIsUp(t *testing.T) {
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99, Raylets: []transport.NodeID{1, 2, 3}}
	var sent []sentMsg
	s := New(diffEnv{self: 10, sent: &sent}, Config{Layout: l, Store: NewMemStore()})
	s.Handle(1, &transport.GcsActorUpdate{Actor: 100, State: transport.ActorPending, Name: "n"})
	s.Handle(2, &transport.GcsActorUpdate{Actor: 200, Node: 2, State: transport.ActorAlive, Name: "n", Owner: 3, Incarnation: 1})
	require.Equal(t, transport.ActorDead, s.actors[200].info.State, "the newcomer is refused")
	killed := false
	for _, m := range sent {
		if m.to == 2 && strings.Contains(m.m, "KillActor") && strings.Contains(m.m, fmt.Sprintf("Actor:%v", transport.TaskID(200))) {
			killed = true
		}
	}
	require.True(t, killed, "sent: %v", sent)
}
