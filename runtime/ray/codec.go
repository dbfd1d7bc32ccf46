package ray

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"raysim/runtime/transport"
)

// Values cross nodes as bytes: a tag byte, then a compact form for common
// types and JSON for everything else (JSON is deterministic: map keys are
// sorted). Decoding checks the tag against the destination type.
const (
	tagJSON byte = iota
	tagInt
	tagFloat
	tagString
	tagBytes
	tagBool
	tagBlob
)

// Blob is a synthetic payload for simulations: Bytes is the size it stands
// for (what stores and links account), Sum the value it carries (so results
// can be checked). A task returning a Blob of 100 MB costs 100 MB of store
// capacity and of transfer, in netsim and over TCP alike (a pull's chunks
// carry the bytes past the encoded value as zero bytes on a real socket:
// transport.PadBytes), but a few real bytes of memory.
type Blob struct {
	Bytes int64
	Sum   uint64
}

// VirtualSizer is implemented by values that stand for more bytes than they
// encode to.
type VirtualSizer interface{ VirtualSize() int64 }

// VirtualSize implements VirtualSizer.
func (b Blob) VirtualSize() int64 { return b.Bytes }

// smallIntBias bounds the ints whose encoding is shared: those in
// [-64, 64) take one varint byte.
const smallIntBias = 64

// smallInts holds the encodings of the small ints, which tasks return most
// (a count, a status, a zero): encoding one costs no allocation. It is
// never written after init.
var smallInts = func() (t [2 * smallIntBias][2]byte) {
	for i := range t {
		b := binary.AppendVarint([]byte{tagInt}, int64(i-smallIntBias))
		t[i] = [2]byte{b[0], b[1]}
	}
	return t
}()

// Encode turns a Go value into an object value.
func Encode(v any) (transport.Value, error) {
	var b []byte
	switch x := v.(type) {
	case int:
		if x >= -smallIntBias && x < smallIntBias {
			b = smallInts[x+smallIntBias][:2:2] // shared: a value's bytes are never written
			break
		}
		b = binary.AppendVarint([]byte{tagInt}, int64(x))
	case int64:
		b = binary.AppendVarint([]byte{tagInt}, x)
	case uint64:
		b = binary.AppendVarint([]byte{tagInt}, int64(x))
	case float64:
		b = binary.LittleEndian.AppendUint64([]byte{tagFloat}, math.Float64bits(x))
	case string:
		b = append([]byte{tagString}, x...)
	case []byte:
		b = append([]byte{tagBytes}, x...)
	case bool:
		b = []byte{tagBool, 0}
		if x {
			b[1] = 1
		}
	case Blob:
		b = binary.AppendVarint([]byte{tagBlob}, x.Bytes)
		b = binary.LittleEndian.AppendUint64(b, x.Sum)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return transport.Value{}, fmt.Errorf("ray: encode %T: %w", v, err)
		}
		b = append([]byte{tagJSON}, j...)
	}
	val := transport.Value{Data: b}
	if s, ok := v.(VirtualSizer); ok {
		val.Size = s.VirtualSize()
	}
	return val, nil
}

// tagName says what a value's tag makes it, for decoding errors ("decode
// *float64: the value is an int" reads better than a tag number).
func tagName(tag byte) string {
	switch tag {
	case tagJSON:
		return "JSON (a composite or other Go type)"
	case tagInt:
		return "an int"
	case tagFloat:
		return "a float64"
	case tagString:
		return "a string"
	case tagBytes:
		return "a []byte"
	case tagBool:
		return "a bool"
	case tagBlob:
		return "a Blob"
	}
	return fmt.Sprintf("of unknown tag %d", tag)
}

// Decode reads an object value into *T.
//
// The common scalars are read here into a T that stays on the stack: the
// general path hands &out to decodeInto as an interface that escapes (its
// errors print the type, JSON keeps it), which costs an allocation per
// value — one per task result a driver gets. A value the fast path does not
// accept goes down the general path, so errors read the same.
func Decode[T any](v transport.Value) (T, error) {
	var out T
	b := v.Data
	switch p := any(&out).(type) {
	case *int:
		if x, ok := fastVarint(b); ok {
			*p = int(x)
			return out, nil
		}
	case *int64:
		if x, ok := fastVarint(b); ok {
			*p = x
			return out, nil
		}
	case *float64:
		if len(b) == 9 && b[0] == tagFloat {
			*p = math.Float64frombits(binary.LittleEndian.Uint64(b[1:]))
			return out, nil
		}
	case *bool:
		if len(b) == 2 && b[0] == tagBool {
			*p = b[1] == 1
			return out, nil
		}
	case *string:
		if len(b) > 0 && b[0] == tagString {
			*p = string(b[1:])
			return out, nil
		}
	}
	return decodeGeneral[T](v)
}

// fastVarint reads an int value's varint, ok false where decodeInto would
// fail.
func fastVarint(b []byte) (int64, bool) {
	if len(b) == 0 || b[0] != tagInt {
		return 0, false
	}
	x, n := binary.Varint(b[1:])
	return x, n > 0
}

// decodeGeneral is Decode through decodeInto (its T escapes).
func decodeGeneral[T any](v transport.Value) (T, error) {
	var out T
	if err := decodeInto(&out, v.Data); err != nil {
		return out, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return out, nil
}

func decodeInto(dst any, b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("ray: decode %T: empty value", dst)
	}
	tag, body := b[0], b[1:]
	bad := func() error { return fmt.Errorf("ray: decode %T: the value is %s", dst, tagName(tag)) }
	varint := func() (int64, error) {
		x, n := binary.Varint(body)
		if n <= 0 {
			return 0, fmt.Errorf("ray: decode %T: bad varint", dst)
		}
		return x, nil
	}
	switch p := dst.(type) {
	case *int:
		if tag != tagInt {
			return bad()
		}
		x, err := varint()
		*p = int(x)
		return err
	case *int64:
		if tag != tagInt {
			return bad()
		}
		x, err := varint()
		*p = x
		return err
	case *uint64:
		if tag != tagInt {
			return bad()
		}
		x, err := varint()
		*p = uint64(x)
		return err
	case *float64:
		if tag != tagFloat || len(body) != 8 {
			return bad()
		}
		*p = math.Float64frombits(binary.LittleEndian.Uint64(body))
		return nil
	case *string:
		if tag != tagString {
			return bad()
		}
		*p = string(body)
		return nil
	case *[]byte:
		if tag != tagBytes {
			return bad()
		}
		*p = append([]byte(nil), body...)
		return nil
	case *bool:
		if tag != tagBool || len(body) != 1 {
			return bad()
		}
		*p = body[0] == 1
		return nil
	case *Blob:
		if tag != tagBlob {
			return bad()
		}
		x, n := binary.Varint(body)
		if n <= 0 || len(body) != n+8 {
			return bad()
		}
		*p = Blob{Bytes: x, Sum: binary.LittleEndian.Uint64(body[n:])}
		return nil
	case *any:
		return decodeAny(p, tag, body)
	}
	if tag != tagJSON {
		return bad()
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("ray: decode %T: %w", dst, err)
	}
	return nil
}

func decodeAny(p *any, tag byte, body []byte) error {
	full := append([]byte{tag}, body...)
	switch tag {
	case tagInt:
		var x int64
		err := decodeInto(&x, full)
		*p = x
		return err
	case tagFloat:
		var x float64
		err := decodeInto(&x, full)
		*p = x
		return err
	case tagString:
		*p = string(body)
	case tagBytes:
		*p = append([]byte(nil), body...)
	case tagBool:
		var x bool
		err := decodeInto(&x, full)
		*p = x
		return err
	case tagBlob:
		var x Blob
		err := decodeInto(&x, full)
		*p = x
		return err
	default:
		return json.Unmarshal(body, p)
	}
	return nil
}
