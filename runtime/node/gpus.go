package node

import (
	"slices"
	"strings"

	"raysim/runtime/transport"
)

// GPUs are accounted per device, as Ray's are (a unit-instance resource):
// a fractional request is served by one GPU, a whole one by whole free
// GPUs. Kept as one sum, three 0.6-GPU tasks ran at once on two GPUs, one
// of them straddling both. r.avail keeps the sum too; the devices decide
// whether a task's GPUs fit.

// gpuShare is what a task holds of one GPU.
type gpuShare struct {
	dev    int
	amount int64 // in transport.ResourceUnit
}

// newGPUs returns the free amount of each of the node's GPUs: whole ones,
// and a last partial one if the node's GPU count is fractional.
func newGPUs(total int64) []int64 {
	var gpus []int64
	for ; total >= transport.ResourceUnit; total -= transport.ResourceUnit {
		gpus = append(gpus, transport.ResourceUnit)
	}
	if total > 0 {
		gpus = append(gpus, total)
	}
	return gpus
}

// gpuFit returns the shares of the node's GPUs that would serve a request
// of want, or ok false if the free devices cannot: a fraction of one GPU
// from the first device with that much free, a whole number from as many
// wholly free devices (a request above one GPU that is not whole, which
// Ray refuses, is served as its next whole number).
func (r *Raylet) gpuFit(want int64, into []gpuShare) (shares []gpuShare, ok bool) {
	if want <= 0 {
		return into, true
	}
	if want < transport.ResourceUnit {
		for i, free := range r.gpus {
			if free >= want {
				return append(into, gpuShare{dev: i, amount: want}), true
			}
		}
		return into, false
	}
	n := (want + transport.ResourceUnit - 1) / transport.ResourceUnit
	for i, free := range r.gpus {
		if n == 0 {
			break
		}
		if free == transport.ResourceUnit {
			into = append(into, gpuShare{dev: i, amount: free})
			n--
		}
	}
	return into, n == 0
}

// gpusFit reports whether the free devices can serve a request of want.
func (r *Raylet) gpusFit(want int64) bool {
	if want <= 0 {
		return true
	}
	var buf [8]gpuShare
	_, ok := r.gpuFit(want, buf[:0])
	return ok
}

// takeGPUs gives t the devices for its GPUs (which gpusFit said fit).
func (r *Raylet) takeGPUs(t *task) {
	shares, ok := r.gpuFit(t.spec.Resources.GPU, nil)
	if !ok || len(shares) == 0 {
		return
	}
	for _, s := range shares {
		r.gpus[s.dev] -= s.amount
	}
	if r.gpuHeld == nil {
		r.gpuHeld = make(map[*task][]gpuShare)
	}
	r.gpuHeld[t] = shares
}

// giveBack returns what t holds of the node's resources (t.res()) and of
// its GPUs, or of its bundle's. Its devices are returned once, however
// often it is called.
func (r *Raylet) giveBack(t *task) {
	r.avail = r.avail.Add(t.res())
	if shares, ok := r.gpuHeld[t]; ok {
		delete(r.gpuHeld, t)
		for _, s := range shares {
			r.gpus[s.dev] += s.amount
		}
	}
	if h, ok := r.groupGPUHeld[t]; ok {
		delete(r.groupGPUHeld, t)
		for _, s := range h.shares { // to a bundle released since: nobody reads it again
			h.bundle.gpuFree[s.slot] += s.amount
		}
	}
}

// groupGPUHold is what a task or actor running in a placement group's
// bundle holds of the bundle's devices (takeGroupGPUs).
type groupGPUHold struct {
	bundle *heldBundle
	shares []bundleShare
}

// bundleShare is what a task holds of one of its bundle's devices: the
// device's slot in heldBundle.gpus and the amount.
type bundleShare struct {
	slot   int
	amount int64
}

// groupGPURequest is the GPUs a task or actor of a placement group asks
// for (its request renamed to the bundle's resources): the group, the
// bundle it names (-1: any of the group's) and the amount; want 0 for
// none.
func groupGPURequest(spec *transport.TaskSpec) (g transport.GroupID, index int, want int64) {
	index = -1
	for _, q := range spec.Resources.Custom {
		if !strings.HasPrefix(q.Name, "GPU_group_") {
			continue
		}
		if gq, i, ok := transport.ParseBundleResource(q.Name); ok {
			g, want = gq, q.Amount
			if i >= 0 {
				index = i
			}
		}
	}
	return g, index, want
}

// bundleGPUFit returns the shares of b's devices that would serve a
// request of want, as gpuFit serves one of the node's: a fraction from the
// first device of the bundle with that much free, a whole number from as
// many of its whole devices wholly free; ok false if they cannot.
func bundleGPUFit(b *heldBundle, want int64) (shares []bundleShare, ok bool) {
	if want < transport.ResourceUnit {
		for i, free := range b.gpuFree {
			if free >= want {
				return []bundleShare{{slot: i, amount: want}}, true
			}
		}
		return nil, false
	}
	n := (want + transport.ResourceUnit - 1) / transport.ResourceUnit
	for i, free := range b.gpuFree {
		if n == 0 {
			break
		}
		if free == transport.ResourceUnit && b.gpus[i].amount == transport.ResourceUnit {
			shares = append(shares, bundleShare{slot: i, amount: free})
			n--
		}
	}
	return shares, n == 0
}

// groupGPUFit finds the bundle and the shares of its devices that would
// serve spec's GPUs in its placement group: the bundle it names, or the
// first committed one of its group here whose devices can. b is nil when
// spec asks for no GPU in a group; ok false when no bundle's devices can
// serve it now.
func (r *Raylet) groupGPUFit(spec *transport.TaskSpec) (b *heldBundle, shares []bundleShare, ok bool) {
	if len(spec.Resources.Custom) == 0 || len(r.bundles) == 0 {
		return nil, nil, true
	}
	g, index, want := groupGPURequest(spec)
	if want <= 0 {
		return nil, nil, true
	}
	for _, hb := range r.bundles {
		if hb.group != g || !hb.committed || len(hb.gpus) == 0 || index >= 0 && int(hb.index) != index {
			continue
		}
		if shares, fit := bundleGPUFit(hb, want); fit {
			return hb, shares, true
		}
	}
	return nil, nil, false
}

// groupGPUsFit reports whether the devices of spec's bundle can serve its
// GPUs in its placement group (true for a task asking for none there).
func (r *Raylet) groupGPUsFit(spec *transport.TaskSpec) bool {
	_, _, ok := r.groupGPUFit(spec)
	return ok
}

// takeGroupGPUs gives t, which runs in a placement group's bundle, the
// devices for its GPUs out of the bundle's (which groupGPUFit said fit),
// as Ray gives a task its share of the bundle's GPU instances.
func (r *Raylet) takeGroupGPUs(t *task) {
	b, shares, ok := r.groupGPUFit(t.spec)
	if !ok || b == nil {
		return
	}
	for _, s := range shares {
		b.gpuFree[s.slot] -= s.amount
	}
	if r.groupGPUHeld == nil {
		r.groupGPUHeld = make(map[*task]groupGPUHold)
	}
	r.groupGPUHeld[t] = groupGPUHold{bundle: b, shares: shares}
}

// creationGPUsFit reports whether an actor asking for want GPUs fits the
// devices once the actors promised here (accepted, not started) have
// theirs: a fraction must not take the only whole device one of them
// waits for. The promised are fitted first, in the order accepted, on a
// copy of the free amounts (one that does not fit now waits for devices
// anyway, and is left out).
func (r *Raylet) creationGPUsFit(want int64) bool {
	if want <= 0 {
		return true
	}
	if len(r.promisedGPUs) == 0 {
		return r.gpusFit(want)
	}
	saved := r.gpus
	r.gpus = slices.Clone(saved)
	defer func() { r.gpus = saved }()
	var buf [8]gpuShare
	for _, g := range r.promisedGPUs {
		if shares, ok := r.gpuFit(g, buf[:0]); ok {
			for _, sh := range shares {
				r.gpus[sh.dev] -= sh.amount
			}
		}
	}
	return r.gpusFit(want)
}

// promiseGPUs records (or, take false, forgets) an accepted actor's GPUs
// until it starts (see creationGPUsFit).
func (r *Raylet) promiseGPUs(want int64, take bool) {
	if want <= 0 {
		return
	}
	if take {
		r.promisedGPUs = append(r.promisedGPUs, want)
	} else if i := slices.Index(r.promisedGPUs, want); i >= 0 {
		r.promisedGPUs = slices.Delete(r.promisedGPUs, i, i+1)
	}
}

// bundleGPUs returns the devices each of bundles would hold of the free
// GPUs, fitted in order as takeGPUs fits a task's (a fraction from one
// device, a whole number from wholly free ones), or ok false if they do
// not all fit. It takes nothing.
func (r *Raylet) bundleGPUs(bundles []transport.Bundle) (devices [][]gpuShare, ok bool) {
	saved := r.gpus
	r.gpus = slices.Clone(saved)
	defer func() { r.gpus = saved }()
	devices = make([][]gpuShare, len(bundles))
	for i, b := range bundles {
		shares, fit := r.gpuFit(b.Resources.GPU, nil)
		if !fit {
			return nil, false
		}
		for _, sh := range shares {
			r.gpus[sh.dev] -= sh.amount
		}
		devices[i] = shares
	}
	return devices, true
}

// GPUIDs returns the indices of this node's GPUs (0 to its GPU count
// less one) that the caller's task holds, or its actor (for a method
// call or the constructor), in the order they were taken: one device
// for a fractional request, as many as asked for a whole one. A task or
// actor in a placement group's bundle that asks for GPUs gets them out of
// the bundle's devices, as Ray hands each its share of the bundle's GPU
// instances (takeGroupGPUs). Empty for a driver and for a task or actor
// asking for no GPU.
func (c *Caller) GPUIDs() []int {
	var ids []int
	c.r.env.Await(func(wake func()) {
		r := c.r
		var holder *task
		switch {
		case c.t != nil && c.t.actor != nil:
			holder = c.t.actor.creation
		case c.t != nil:
			holder = c.t
		default:
			if a := r.actors[c.task]; a != nil { // a constructor runs with no task of its own
				holder = a.creation
			}
		}
		if holder != nil {
			for _, s := range r.gpuHeld[holder] {
				ids = append(ids, s.dev)
			}
			if h, ok := r.groupGPUHeld[holder]; ok {
				for _, s := range h.shares {
					ids = append(ids, h.bundle.gpus[s.slot].dev)
				}
			}
		}
		wake()
	})
	return ids
}
