package transport

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
)

// ResourceUnit is the fixed-point scale of resource amounts: 1 CPU is 10000
// units, so fractional requests (0.5 GPU) add and subtract exactly, as Ray's
// own fixed-point resource accounting does.
const ResourceUnit = 10000

// Quantity is an amount of one named custom resource, in ResourceUnit units.
type Quantity struct {
	Name   string
	Amount int64
}

// Resources is a bundle of CPU, GPU and custom resources. Custom is kept
// sorted by name so that comparisons, encoding and iteration are
// deterministic.
type Resources struct {
	CPU, GPU int64
	Custom   []Quantity
}

// MaxResourceUnits bounds one amount on the wire, either sign: 2^60 units
// is 1.15e14 of a resource (115 TB of a memory resource counted in bytes,
// as Ray counts memory), and a node's arithmetic on amounts this size
// (its free resources, a blocked task's borrowed CPU) cannot overflow.
const MaxResourceUnits = 1 << 60

// CheckAmount refuses a human amount no resource can have: negative, NaN,
// or beyond MaxResourceUnits (which the wire refuses).
func CheckAmount(v float64) error {
	if !(v >= 0) || v > MaxResourceUnits/ResourceUnit {
		return fmt.Errorf("amount %g: want 0 to %d", v, int64(MaxResourceUnits/ResourceUnit))
	}
	return nil
}

// CheckRequest refuses, as Ray does, an amount a task or actor may not ask
// for: one CheckAmount refuses, one finer than 1/ResourceUnit (it would
// round to none: the task would need nothing), and, for GPUs, a fraction
// above 1 (Ray's num_gpus: a fraction below 1 or a whole number).
func CheckRequest(v float64, gpu bool) error {
	if err := CheckAmount(v); err != nil {
		return err
	}
	if v != 0 && Units(v) == 0 {
		return fmt.Errorf("amount %g: finer than the precision of 1/%d", v, ResourceUnit)
	}
	if gpu && v > 1 && v != math.Trunc(v) {
		return fmt.Errorf("amount %g: more than 1 GPU must be a whole number", v)
	}
	return nil
}

// Units converts a human amount (1.5) to fixed point.
func Units(v float64) int64 { return int64(math.Round(v * ResourceUnit)) }

// MakeResources builds a bundle from human amounts; custom may be nil.
func MakeResources(cpu, gpu float64, custom map[string]float64) Resources {
	r := Resources{CPU: Units(cpu), GPU: Units(gpu)}
	for name, v := range custom { // order fixed by the sort below
		r.Custom = append(r.Custom, Quantity{Name: name, Amount: Units(v)})
	}
	sort.Slice(r.Custom, func(i, j int) bool { return r.Custom[i].Name < r.Custom[j].Name })
	return r
}

func (r Resources) custom(name string) int64 {
	for _, q := range r.Custom {
		if q.Name == name {
			return q.Amount
		}
	}
	return 0
}

// Fits reports whether r can be taken from avail.
func (r Resources) Fits(avail Resources) bool {
	if r.CPU > avail.CPU || r.GPU > avail.GPU {
		return false
	}
	for _, q := range r.Custom {
		if q.Amount > avail.custom(q.Name) {
			return false
		}
	}
	return true
}

// Missing describes what of r avail lacks ("GPU: need 1, have 0"), for
// infeasibility warnings.
func (r Resources) Missing(avail Resources) string {
	var parts []string
	f := func(name string, need, have int64) {
		if need > have {
			parts = append(parts, fmt.Sprintf("%s: need %g, have %g", name, float64(need)/ResourceUnit, float64(have)/ResourceUnit))
		}
	}
	f("CPU", r.CPU, avail.CPU)
	f("GPU", r.GPU, avail.GPU)
	for _, q := range r.Custom {
		f(q.Name, q.Amount, avail.custom(q.Name))
	}
	return strings.Join(parts, "; ")
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources { return r.combine(o, 1) }

// Sub returns r - o (amounts may go negative: a blocked task's CPU is
// borrowed back when it resumes, as in Ray).
func (r Resources) Sub(o Resources) Resources { return r.combine(o, -1) }

func (r Resources) combine(o Resources, sign int64) Resources {
	out := Resources{CPU: r.CPU + sign*o.CPU, GPU: r.GPU + sign*o.GPU}
	if len(o.Custom) == 0 {
		out.Custom = r.Custom
		return out
	}
	out.Custom = make([]Quantity, 0, len(r.Custom)+len(o.Custom))
	i, j := 0, 0
	for i < len(r.Custom) || j < len(o.Custom) {
		switch {
		case j == len(o.Custom) || (i < len(r.Custom) && r.Custom[i].Name < o.Custom[j].Name):
			out.Custom = append(out.Custom, r.Custom[i])
			i++
		case i == len(r.Custom) || o.Custom[j].Name < r.Custom[i].Name:
			out.Custom = append(out.Custom, Quantity{o.Custom[j].Name, sign * o.Custom[j].Amount})
			j++
		default:
			out.Custom = append(out.Custom, Quantity{r.Custom[i].Name, r.Custom[i].Amount + sign*o.Custom[j].Amount})
			i++
			j++
		}
	}
	return out
}

// IsZero reports whether the bundle asks for nothing.
func (r Resources) IsZero() bool {
	if r.CPU != 0 || r.GPU != 0 {
		return false
	}
	for _, q := range r.Custom {
		if q.Amount != 0 {
			return false
		}
	}
	return true
}

func (r Resources) String() string {
	s := fmt.Sprintf("CPU=%g GPU=%g", float64(r.CPU)/ResourceUnit, float64(r.GPU)/ResourceUnit)
	for _, q := range r.Custom {
		s += fmt.Sprintf(" %s=%g", q.Name, float64(q.Amount)/ResourceUnit)
	}
	return s
}

func (e *Encoder) Resources(r Resources) { e.buf = appendResources(e.buf, r) }

// appendResources appends r's encoding (Encoder.Resources) to b.
func appendResources(b []byte, r Resources) []byte {
	b = binary.AppendVarint(b, r.CPU)
	b = binary.AppendVarint(b, r.GPU)
	b = binary.AppendUvarint(b, uint64(len(r.Custom)))
	for _, q := range r.Custom {
		b = appendString(b, q.Name)
		b = binary.AppendVarint(b, q.Amount)
	}
	return b
}

// Resources decodes a bundle and refuses one whose custom names are not
// strictly increasing (Fits, Add and Sub rely on that order) or whose
// amounts pass ±MaxResourceUnits (sums would overflow).
func (d *Decoder) Resources() Resources {
	r := Resources{CPU: d.Varint(), GPU: d.Varint()}
	n := d.Count(1024, 2)
	if n > 0 {
		r.Custom = make([]Quantity, n)
		for i := range r.Custom {
			r.Custom[i] = Quantity{Name: d.String(), Amount: d.Varint()}
		}
	}
	if d.err == nil {
		if err := r.check(); err != nil {
			d.Fail(err)
		}
	}
	return r
}

// ResourcesNonNeg decodes a task's request or a node's capacity: a Resources
// whose amounts are also never negative (a negative request would add to a
// raylet's free resources when it is taken).
func (d *Decoder) ResourcesNonNeg() Resources {
	r := d.Resources()
	if d.err == nil && !r.nonNegative() {
		d.Fail(fmt.Errorf("%w: negative resource amount in %v", ErrInvalid, r))
	}
	return r
}

func (r Resources) check() error {
	inRange := func(v int64) bool { return v >= -MaxResourceUnits && v <= MaxResourceUnits }
	if !inRange(r.CPU) || !inRange(r.GPU) {
		return fmt.Errorf("%w: resource amount beyond %d units", ErrTooLarge, MaxResourceUnits)
	}
	for i, q := range r.Custom {
		if !inRange(q.Amount) {
			return fmt.Errorf("%w: resource %q beyond %d units", ErrTooLarge, q.Name, MaxResourceUnits)
		}
		if i > 0 && q.Name <= r.Custom[i-1].Name {
			return fmt.Errorf("%w: resource names not in strictly increasing order (%q after %q)", ErrInvalid, q.Name, r.Custom[i-1].Name)
		}
	}
	return nil
}

func (r Resources) nonNegative() bool {
	if r.CPU < 0 || r.GPU < 0 {
		return false
	}
	for _, q := range r.Custom {
		if q.Amount < 0 {
			return false
		}
	}
	return true
}
