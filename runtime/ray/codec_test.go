package ray

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
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

// TestDecodeScalarsAllocateNothing: a driver decodes one value per task
// result, so Decode of an int (and the other common scalars) must not box
// its T on the heap; and each round trips, its errors as before.
func TestDecodeScalarsAllocateNothing(t *testing.T) {
	vi, _ := Encode(1 << 20)
	vf, _ := Encode(2.5)
	vb, _ := Encode(true)
	if a := testing.AllocsPerRun(100, func() {
		if x, err := Decode[int](vi); err != nil || x != 1<<20 {
			t.Fatalf("Decode[int]: %v %v", x, err)
		}
		if x, err := Decode[int64](vi); err != nil || x != 1<<20 {
			t.Fatalf("Decode[int64]: %v %v", x, err)
		}
		if x, err := Decode[float64](vf); err != nil || x != 2.5 {
			t.Fatalf("Decode[float64]: %v %v", x, err)
		}
		if x, err := Decode[bool](vb); err != nil || !x {
			t.Fatalf("Decode[bool]: %v %v", x, err)
		}
	}); a > 0 {
		t.Errorf("Decode of scalars: %v allocations, want 0", a)
	}
	vs, _ := Encode("hello")
	if x, err := Decode[string](vs); err != nil || x != "hello" {
		t.Errorf("Decode[string]: %q %v", x, err)
	}
	for _, bad := range [][]byte{nil, {tagInt}, {tagFloat, 1}, {tagBool}, {tagString + 1}} {
		v := transport.Value{Data: bad}
		_, err1 := Decode[int](v)
		_, err2 := Decode[float64](v)
		_, err3 := Decode[bool](v)
		_, err4 := Decode[string](v)
		for _, err := range []error{err1, err2, err3, err4} {
			if !errors.Is(err, ErrDecode) {
				t.Errorf("Decode of %v: %v, want ErrDecode", bad, err)
			}
		}
	}
}
