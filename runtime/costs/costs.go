// Package costs is the service-time profile of raysim's components: how much
// virtual CPU each operation takes. Components charge it through Env.Charge,
// so that in the simulator a GCS shard or a local scheduler saturates as a
// real single-threaded one would. On TCP charges are no-ops: the work takes
// the time it takes.
package costs

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Profile is the per-operation cost of the runtime's components.
type Profile struct {
	GCSRead   time.Duration // one GCS table lookup or subscription
	GCSWrite  time.Duration // one GCS table write (incl. publish bookkeeping)
	Schedule  time.Duration // one placement decision (local or global)
	Dispatch  time.Duration // handing a task to a worker and taking its result
	ObjectPut time.Duration // storing an object (fixed part)
	ObjectGet time.Duration // reading a local object (fixed part)
	// PerMB is per MiB copied into or out of a store: a pull's bytes on
	// both raylets; a task result or a Put on the worker or driver that
	// writes it (its own time, as a Plasma client's, not the raylet's).
	PerMB time.Duration
	// SpillPerMB and RestorePerMB are per MiB written to a node's spill
	// tier (local disk) and read back from it: an object store with a
	// spill tier (node.Config.ObjectSpillBytes) charges them to its
	// raylet, as Ray's raylet drives its IO workers.
	SpillPerMB   time.Duration
	RestorePerMB time.Duration
	Message      time.Duration // receiving and decoding any message
	// ComputeOvershoot and ComputeOvershootP90 are the median and 90th
	// percentile of how late a real Compute(d) ends — a timer's wake-up
	// latency — drawn per Compute from a lognormal with those quantiles.
	ComputeOvershoot    time.Duration
	ComputeOvershootP90 time.Duration
}

// Overshoot draws how late a Compute ends: a lognormal with median
// ComputeOvershoot and 90th percentile ComputeOvershootP90 (a constant if
// the latter is not above the former). u is a standard normal draw.
func (p Profile) Overshoot(u float64) time.Duration {
	m, q := float64(p.ComputeOvershoot), float64(p.ComputeOvershootP90)
	if m <= 0 {
		return 0
	}
	if q <= m {
		return p.ComputeOvershoot
	}
	const z90 = 1.2815515655446004 // the standard normal's 90th percentile
	return time.Duration(m * math.Exp(u*math.Log(q/m)/z90))
}

// Default is raysim's documented default profile: numbers of the order Ray's
// C++ components reach per operation on one core (a GCS shard of the paper
// serves a few hundred thousand ops/s; a raylet dispatches tens of thousands
// of tasks/s; memory copies at ~10 GB/s; a local NVMe disk writes ~1 GB/s
// and reads ~2 GB/s).
func Default() Profile {
	return Profile{
		GCSRead:   2 * time.Microsecond,
		GCSWrite:  4 * time.Microsecond,
		Schedule:  2 * time.Microsecond,
		Dispatch:  10 * time.Microsecond,
		ObjectPut: 3 * time.Microsecond,
		ObjectGet: 1 * time.Microsecond,
		PerMB:     100 * time.Microsecond,
		Message:   1 * time.Microsecond,
		// Spill tier (only charged when a node has one).
		SpillPerMB:   1000 * time.Microsecond,
		RestorePerMB: 500 * time.Microsecond,
	}
}

// Zero costs nothing: components are infinitely fast (pure network model).
func Zero() Profile { return Profile{} }

// Copy is the cost of moving n bytes through a store.
func (p Profile) Copy(n int64) time.Duration {
	return time.Duration(float64(p.PerMB) * float64(n) / (1 << 20))
}

// Spill is the cost of writing n bytes to a spill tier.
func (p Profile) Spill(n int64) time.Duration {
	return time.Duration(float64(p.SpillPerMB) * float64(n) / (1 << 20))
}

// Restore is the cost of reading n bytes back from a spill tier.
func (p Profile) Restore(n int64) time.Duration {
	return time.Duration(float64(p.RestorePerMB) * float64(n) / (1 << 20))
}

// Names are the keys of a profile in scenario files, in a fixed order.
var Names = []string{"gcs_read", "gcs_write", "schedule", "dispatch", "object_put", "object_get", "object_per_mb", "spill_per_mb", "restore_per_mb", "message", "compute_overshoot", "compute_overshoot_p90"}

// Field returns a pointer to the named cost, for loaders.
func (p *Profile) Field(name string) (*time.Duration, error) {
	switch name {
	case "gcs_read":
		return &p.GCSRead, nil
	case "gcs_write":
		return &p.GCSWrite, nil
	case "schedule":
		return &p.Schedule, nil
	case "dispatch":
		return &p.Dispatch, nil
	case "object_put":
		return &p.ObjectPut, nil
	case "object_get":
		return &p.ObjectGet, nil
	case "object_per_mb":
		return &p.PerMB, nil
	case "spill_per_mb":
		return &p.SpillPerMB, nil
	case "restore_per_mb":
		return &p.RestorePerMB, nil
	case "message":
		return &p.Message, nil
	case "compute_overshoot":
		return &p.ComputeOvershoot, nil
	case "compute_overshoot_p90":
		return &p.ComputeOvershootP90, nil
	}
	return nil, fmt.Errorf("costs: unknown operation %q (want one of %v)", name, Names)
}

// Named returns a built-in profile by name.
func Named(name string) (Profile, error) {
	switch name {
	case "", "default":
		return Default(), nil
	case "zero":
		return Zero(), nil
	}
	known := []string{"default", "zero"}
	sort.Strings(known)
	return Profile{}, fmt.Errorf("costs: unknown profile %q (built in: %v)", name, known)
}
