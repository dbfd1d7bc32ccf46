package scenarios

import (
	"math"
	"time"
)

// Distribution kinds.
const (
	Constant    = "constant"
	Uniform     = "uniform"
	Normal      = "normal"
	LogNormal   = "lognormal"
	Exponential = "exponential"
)

// DistKinds lists the distribution kinds a scenario may name.
var DistKinds = []string{Constant, Uniform, Normal, LogNormal, Exponential}

// Dist is a value or a distribution of values, unit-free. A plain value in a
// scenario ("10ms") is Kind "constant" with Mean set. Fields by kind:
//
//	constant     Mean
//	uniform      Min, Max (Min <= Max)
//	normal       Mean, Stddev; optional Min/Max clamp
//	lognormal    Mean, Stddev of the resulting values (not of their log); optional Min/Max clamp
//	exponential  Mean; optional Min/Max clamp
//
// A clamp bound is unset when zero (Max == 0 means no upper clamp); samples
// are never negative.
type Dist struct {
	Kind   string
	Mean   float64
	Stddev float64
	Min    float64
	Max    float64
}

// Source is the randomness a Dist samples from; *math/rand/v2.Rand (what
// Env.Rand returns) satisfies it.
type Source interface {
	Float64() float64
	NormFloat64() float64
	ExpFloat64() float64
}

// IsConstant reports whether every sample is the same value.
func (d Dist) IsConstant() bool {
	return d.Kind == Constant || d.Kind == "" || (d.Kind == Uniform && d.Min == d.Max)
}

// Sample draws one value. A constant draws nothing from r, so adding a
// constant never shifts another component's random stream.
func (d Dist) Sample(r Source) float64 {
	var v float64
	switch d.Kind {
	case Constant, "":
		return d.Mean
	case Uniform:
		if d.Min == d.Max {
			return d.Min
		}
		// float64(x*y): no fused multiply-add on any architecture (see
		// netsim.Dist.Sample), so a seed draws the same value everywhere.
		return d.Min + float64(r.Float64()*(d.Max-d.Min))
	case Normal:
		v = d.Mean + float64(d.Stddev*r.NormFloat64())
	case LogNormal:
		if d.Mean <= 0 {
			return 0
		}
		s2 := math.Log1p(d.Stddev * d.Stddev / (d.Mean * d.Mean))
		mu := math.Log(d.Mean) - float64(s2/2)
		v = math.Exp(mu + float64(math.Sqrt(s2)*r.NormFloat64()))
	case Exponential:
		v = d.Mean * r.ExpFloat64()
	}
	if v < d.Min {
		v = d.Min
	}
	if d.Max > 0 && v > d.Max {
		v = d.Max
	}
	if v < 0 {
		v = 0
	}
	return v
}

// Expected is the distribution's mean (for uniform, the midpoint), ignoring
// clamping.
func (d Dist) Expected() float64 {
	if d.Kind == Uniform {
		return (d.Min + d.Max) / 2
	}
	return d.Mean
}

// DurationDist is a Dist of durations; its values are nanoseconds.
type DurationDist struct{ Dist }

// FixedDuration is the constant distribution d.
func FixedDuration(d time.Duration) DurationDist {
	return DurationDist{Dist{Kind: Constant, Mean: float64(d)}}
}

// Sample draws one duration.
func (d DurationDist) Sample(r Source) time.Duration {
	return time.Duration(math.Round(d.Dist.Sample(r)))
}

// MeanDuration is the expected duration.
func (d DurationDist) MeanDuration() time.Duration { return time.Duration(math.Round(d.Expected())) }

// SizeDist is a Dist of sizes; its values are bytes.
type SizeDist struct{ Dist }

// FixedSize is the constant distribution of n bytes.
func FixedSize(n int64) SizeDist { return SizeDist{Dist{Kind: Constant, Mean: float64(n)}} }

// Sample draws one size in bytes.
func (d SizeDist) Sample(r Source) int64 { return int64(math.Round(d.Dist.Sample(r))) }

// MeanBytes is the expected size in bytes.
func (d SizeDist) MeanBytes() int64 { return int64(math.Round(d.Expected())) }
