package ray

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Small ints share their encodings (smallInts); every int must still round
// trip and encode exactly as the general varint path does.
func TestEncodeIntsRoundTrip(t *testing.T) {
	for _, x := range []int{0, 1, -1, 63, -64, 64, -65, 127, 128, -129, 1 << 40, -(1 << 40)} {
		v, err := Encode(x)
		require.NoError(t, err)
		want := binary.AppendVarint([]byte{tagInt}, int64(x))
		require.Equal(t, want, v.Data, "encoding of %d", x)
		got, err := Decode[int](v)
		require.NoError(t, err)
		require.Equal(t, x, got)
	}
	// A shared encoding cannot be grown in place into its neighbour's.
	v, _ := Encode(5)
	require.Equal(t, 2, cap(v.Data))
}

// TestDecodeErrorsNameTheValuesType: a value that does not decode says
// what it is in Go's terms, not a tag number.
func TestDecodeErrorsNameTheValuesType(t *testing.T) {
	v, err := Encode(5)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode[float64](v)
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "decode *float64: the value is an int") {
		t.Errorf("Decode[float64] of an int: %v", err)
	}
	v, _ = Encode("x")
	_, err = Decode[struct{ A int }](v)
	if !strings.Contains(err.Error(), "the value is a string") {
		t.Errorf("Decode[struct] of a string: %v", err)
	}
}
