package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/workload"
)

// RunTCP runs a scenario's workload and expectations on an in-process
// cluster whose endpoints talk over loopback TCP: the same runtime code as
// in the simulator, real sockets and the wall clock. Timings differ from a
// simulation (there is no cost model: work takes the time it takes); the
// answers must not. Of the fault schedule only task_errors faults are
// applied (on the wall clock, from the cluster's start: they need no
// network layer); the others are reported as warnings. Options.Trace records the runtime's events on the
// wall clock (no network events: there is no simulated network); such a
// trace can be read and exported but not replayed.
func RunTCP(ctx context.Context, s *scenarios.Scenario, o Options) (*Result, error) {
	for _, g := range s.Cluster.Groups {
		// Nodes that join later are the simulator's: an in-process TCP
		// cluster starts its nodes together.
		key := ""
		switch {
		case g.Autoscale != nil:
			key = "autoscale"
		case g.Start > 0:
			key = "start"
		}
		if key != "" {
			return nil, fmt.Errorf("%w: cluster.nodes %s: %s is simulator only (nodes that join later); --tcp starts every node together: drop it, or run without --tcp",
				ErrBadScenario, g.Name, key)
		}
	}
	cfg, err := clusterConfig(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	// The run's clock starts once the cluster is up, as the simulator's
	// work starts on a registered cluster: start-up (listening, dialling,
	// registering every node) is not the workload's time. Its events are
	// at 0.
	var start time.Time
	var actors []transport.ActorID
	m := newMetrics(&actors, o.OnEvent)
	m.nodeName = func(id transport.NodeID) string { return endpointName(s, id) }
	m.now = func() time.Duration {
		if start.IsZero() {
			return 0
		}
		return time.Since(start)
	}
	rec := startTrace(&o, &cfg, m)
	cfg.OnNetEvent = nil // no simulated network on TCP
	var mu sync.Mutex    // hosts emit from their own loops; guards start too
	cfg.OnEvent = func(ev *transport.Event) {
		mu.Lock()
		m.event(ev)
		mu.Unlock()
	}
	errs := newTaskErrorRates(s)
	cfg.TaskErrors = errs.hook()
	reg := ray.NewRegistry()
	funcs := workload.Register(reg)
	if err := funcs.RegisterOwn(reg, s.Extensions()); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadScenario, s.File, err)
	}
	c, err := ray.NewTCP(ctx, cfg, reg)
	if err != nil {
		return nil, fmt.Errorf("runner: start a loopback TCP cluster: %w", err)
	}
	defer c.Close()
	mu.Lock()
	start = time.Now()
	mu.Unlock()
	// The faults' starts and ends go into the trace as the simulator logs
	// them (net.custom), for analyses.
	note := func(detail string) {
		mu.Lock()
		defer mu.Unlock()
		rec.Net(&netsim.Event{Kind: netsim.EvCustom, At: m.now(), Detail: detail})
	}
	stop, applied, injected := taskErrorsOnWallClock(s, errs, note)
	defer stop()
	if n := len(s.Faults) - applied; n > 0 {
		m.warnings = append(m.warnings, fmt.Sprintf("%d faults not applied: the fault schedule runs in the simulator only, but for task_errors (an in-process --tcp cluster has no fault layer; a live cluster, raysim run --address, applies kills, restarts, partitions, degraded links, heals and task_errors)", n))
	}
	tallies, err := startDrivers(s, funcs, c.GoThread)
	if err != nil {
		return nil, err
	}
	allDone, err := waitWall(ctx, s, c.Wait, nil)
	if err != nil {
		return nil, err
	}
	end := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	r := m.result(s, "tcp", end)
	r.FaultsInjected = injected()
	r.Digest = rec.Digest().String()
	r.Events = rec.Count()
	r.EventsPerSecond = float64(r.Events) / max(end.Seconds(), 1e-9)
	finishResult(s, r, m, tallies, allDone, &ending{at: end, limit: s.DurationLimit, atLimit: !allDone, wall: true, nodes: nodeNames(s)})
	return r, nil
}

// taskErrorsOnWallClock applies s's task_errors faults to errs on the wall
// clock from now, as the simulator does in virtual time, telling note of
// each start and end, and returns a stop for the timers it set and how
// many faults it applies, and how many of them have started so far (what
// the result's faults_injected counts, as the simulator's does).
func taskErrorsOnWallClock(s *scenarios.Scenario, errs *taskErrorRates, note func(string)) (stop func(), applied int, injected func() int) {
	var started atomic.Int64
	var mu sync.Mutex
	var timers []*time.Timer
	stopped := false
	after := func(d time.Duration, f func()) {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			timers = append(timers, time.AfterFunc(d, f))
		}
	}
	for i := range s.Faults {
		fl := &s.Faults[i]
		if fl.Kind != scenarios.TaskErrors {
			continue
		}
		applied++
		apply := func() {
			started.Add(1)
			idx := errs.start(s, fl)
			note(scenarios.TaskErrorsStarted + fl.Errors.Describe())
			if fl.For > 0 {
				after(fl.For, func() {
					errs.end(fl, idx)
					note(scenarios.TaskErrorsEnded + fl.Errors.Describe())
				})
			}
		}
		if fl.At <= 0 {
			apply() // from the start: before the drivers submit anything
		} else {
			after(fl.At, apply)
		}
	}
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		for _, t := range timers {
			t.Stop()
		}
	}, applied, func() int { return int(started.Load()) }
}
