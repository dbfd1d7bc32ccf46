package gcs

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenBoltRefusesCorruptFreelistPage: a store file of full length whose
// meta pages are intact (magic and checksum good, so checkBoltFile passes
// it) but whose freelist page is damaged (one flipped byte: its page type)
// must be an error (ErrStoreDamaged, as OpenBolt's comment promises for a
// corrupt file), not a panic that kills the GCS process: bbolt's
// loadFreelist panics "invalid freelist page" inside bolt.Open.
func TestOpenBoltRefusesCorruptFreelistPage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	boltWithEntries(t, good)
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	le := binary.LittleEndian
	// Meta page 0 (and 1): page header 16 bytes, then magic, version,
	// page size, flags, root (16), freelist pgid (8), pgid, txid, checksum.
	pageSize := int(le.Uint32(data[16+8:]))
	meta := func(i int) (freelist, txid uint64) {
		b := data[i*pageSize+16:]
		return le.Uint64(b[32:]), le.Uint64(b[48:])
	}
	fl0, tx0 := meta(0)
	fl1, tx1 := meta(1)
	fl := fl0
	if tx1 > tx0 {
		fl = fl1
	}
	require.Greater(t, fl, uint64(1))
	bad := append([]byte(nil), data...)
	off := int(fl)*pageSize + 8 // the page's flags (after its 8-byte id)
	require.Less(t, off+2, len(bad))
	le.PutUint16(bad[off:], 0x02) // a leaf page where the freelist was
	path := filepath.Join(dir, "badfreelist.db")
	require.NoError(t, os.WriteFile(path, bad, 0o600))

	var openErr error
	require.NotPanics(t, func() {
		var st *BoltStore
		st, openErr = OpenBolt(path)
		if st != nil {
			st.Close()
		}
	}, "a corrupt store file must be an error, not a crash of the GCS")
	require.ErrorIs(t, openErr, ErrStoreDamaged)
}
