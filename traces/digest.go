package traces

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
)

// Digest is the run's identity: a 128-bit rolling hash (two independent
// 64-bit lanes of an xxhash64-style round per 8-byte word) over the
// canonical encoding of every record, in order.
type Digest [2]uint64

const (
	prime1 = 0x9E3779B185EBCA87
	prime2 = 0xC2B2AE3D27D4EB4F
	prime3 = 0x165667B19E3779F9
	prime5 = 0x27D4EB2F165667C5
)

// NewDigest is the digest of an empty log.
func NewDigest() Digest { return Digest{0xcbf29ce484222325, 0x84222325cbf29ce4} }

func mixA(h, x uint64) uint64 {
	h ^= bits.RotateLeft64(x*prime2, 31) * prime1
	return bits.RotateLeft64(h, 27)*prime1 + 0x85EBCA77C2B2AE63
}

func mixB(h, x uint64) uint64 {
	h ^= bits.RotateLeft64(x*prime3, 29) * prime5
	return bits.RotateLeft64(h, 23)*prime2 + 0x9FB21C651E98DF25
}

// Add folds one record's encoding into the digest. Allocation-free.
func (d *Digest) Add(b []byte) {
	a, c := d[0], d[1]
	n := uint64(len(b))
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		a, c = mixA(a, x), mixB(c, x)
		b = b[8:]
	}
	var x uint64
	for i := len(b) - 1; i >= 0; i-- {
		x = x<<8 | uint64(b[i])
	}
	x ^= n << 56 // the length disambiguates trailing zero bytes
	a, c = mixA(a, x), mixB(c, x)
	d[0], d[1] = a, c
}

// String is 32 hex digits.
func (d Digest) String() string { return fmt.Sprintf("%016x%016x", d[0], d[1]) }

// ParseDigest reads a String form back.
func ParseDigest(s string) (Digest, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return Digest{}, fmt.Errorf("traces: bad digest %q", s)
	}
	return Digest{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}, nil
}
