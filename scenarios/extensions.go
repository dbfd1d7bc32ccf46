package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
)

// Extensions are what a Go program adds to the scenario format: scheduling
// policies and workload generators of its own, which
// cluster.scheduler.policy and workload[].generator may then name beside
// the built-ins. They are a value handed to ParseWith (and kept with the
// scenario it returns, so Set, check's generator and shrinker and the
// runner see the same ones), not entries in a package-level table: two
// loads in one process may use different extensions.
type Extensions struct {
	// Policies are the program's own scheduling policies
	// (scheduler.CheckPolicies: named, no name twice, none a built-in's).
	Policies []scheduler.Policy
	// Workloads are the program's own workload generators: a scenario's
	// workload entry names one in generator, as it would a built-in.
	Workloads []OwnWorkload
}

// OwnWorkload is a workload generator of a Go program's own. A scenario
// entry naming it gets everything an entry of a built-in gets — drivers
// (count or per-node), start, resources, max_retries and retry_exceptions
// (as DriverInfo.Options), the fault schedule, expect, the digest, and
// check's fault search and shrinking — but no arrival (its driver submits
// as it likes: burst only) and no placement_group.
type OwnWorkload struct {
	// Name is the generator's name (workload[].generator): not a
	// built-in's, not another's.
	Name string
	// Params are the names an entry's params may give; their values
	// reach the driver as written (DriverInfo.Params), for it to parse.
	Params []string
	// Setup registers the workload's remote functions and actor classes
	// in reg and returns its driver. The runner calls it once per run,
	// before the cluster is built (every node has the functions), for
	// every own workload whether a scenario names it or not, so that
	// the function table is the same for all.
	Setup func(reg *ray.Registry) OwnDriver
}

// OwnDriver is one driver of a workload entry naming an OwnWorkload. It
// runs as a driver on its node (a coroutine in netsim: every runtime call
// through ctx, no goroutines or wall clock of its own), and returns when
// its work is done. An error it returns counts as an error of the entry
// (results_correct, the fault search's allowed errors); a value it read and
// checked it reports with DriverInfo.Check.
type OwnDriver func(ctx context.Context, d *DriverInfo) error

// DriverInfo tells a driver of an own workload which one it is.
type DriverInfo struct {
	Entry          string            // the workload entry's name
	Index, Drivers int               // driver Index (from 0) of the entry's Drivers
	Params         map[string]string // the entry's params, as written
	// Rand is seeded by the scenario's seed, the entry and the driver:
	// the same seed draws the same (netsim replays it).
	Rand *rand.Rand
	// Options are the entry's resources, max_retries and
	// retry_exceptions as task options, for the driver's tasks.
	Options []ray.Option
	// Check records one result the driver compared with what it
	// expected: a wrong one (ok false, what says which) fails the
	// entry's results_correct and the fault search's invariant.
	Check func(ok bool, what string)
}

// ErrBadWorkload is returned for an own workload that cannot be used:
// without a name or a Setup, or named as another (a built-in or an own).
var ErrBadWorkload = errors.New("scenarios: bad workload")

// check reports extensions that cannot be used.
func (e *Extensions) check() error {
	if e == nil {
		return nil
	}
	if err := scheduler.CheckPolicies(e.Policies); err != nil {
		return err
	}
	var seen []string
	for i, w := range e.Workloads {
		switch {
		case w.Name == "":
			return fmt.Errorf("%w: workload %d has no name", ErrBadWorkload, i)
		case w.Setup == nil:
			return fmt.Errorf("%w: workload %q has no Setup", ErrBadWorkload, w.Name)
		case slices.Contains(Generators, w.Name):
			return fmt.Errorf("%w: %q is a built-in generator's name", ErrBadWorkload, w.Name)
		case slices.Contains(seen, w.Name):
			return fmt.Errorf("%w: two workloads are named %q", ErrBadWorkload, w.Name)
		}
		seen = append(seen, w.Name)
	}
	return nil
}

// PolicyNames lists the scheduling policies e's scenarios may name: the
// built-ins, then e's own (the one list of them; nil e: the
// built-ins).
func (e *Extensions) PolicyNames() []string {
	if e == nil {
		return scheduler.PolicyNames()
	}
	return scheduler.PolicyNames(e.Policies...)
}

// Policy returns the scheduling policy of the program's own named name, or
// nil when name is a built-in's (or unknown).
func (e *Extensions) Policy(name string) scheduler.Policy {
	if e == nil {
		return nil
	}
	for _, p := range e.Policies {
		if p != nil && p.Name() == name {
			return p
		}
	}
	return nil
}

// GeneratorNames lists the workload generators e's scenarios may name:
// the built-ins (Generators), then e's own in order.
func (e *Extensions) GeneratorNames() []string {
	names := slices.Clone(Generators)
	if e != nil {
		for _, w := range e.Workloads {
			names = append(names, w.Name)
		}
	}
	return names
}

// Workload returns the own workload named name, or nil.
func (e *Extensions) Workload(name string) *OwnWorkload {
	if e == nil {
		return nil
	}
	for i := range e.Workloads {
		if e.Workloads[i].Name == name {
			return &e.Workloads[i]
		}
	}
	return nil
}

// NewParams is the package's NewParams that knows e's own workloads too
// (an *OwnParams with no values for one of them).
func (e *Extensions) NewParams(generator string) Params {
	if p := NewParams(generator); p != nil {
		return p
	}
	if e.Workload(generator) != nil {
		return &OwnParams{generator: generator, Values: map[string]string{}}
	}
	return nil
}

// OwnParams are the parameters of an entry naming an own workload: the
// values its params gave, as written, by name.
type OwnParams struct {
	generator string
	Values    map[string]string
}

// Generator names the own workload.
func (p *OwnParams) Generator() string { return p.generator }

// fields: none the loader decodes by type (it keeps the values as written).
func (p *OwnParams) fields() []param { return nil }

// work: unknown to the loader, which bounds only the built-ins' work.
func (p *OwnParams) work() (string, float64) { return "an own workload's", 0 }
