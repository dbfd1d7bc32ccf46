package runner

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/scenarios/workload"
)

// Remote names a live cluster (raysim start) to run a scenario on.
type Remote struct {
	Address string // the head, HOST:PORT
	Token   []byte
	TLS     *tls.Config
	Logger  *slog.Logger
	// HeadTimeout is how long the head may leave status requests
	// unanswered before the run ends with ErrHeadLost (default 10s): a
	// driver cannot finish without the head's GCS, and would otherwise wait
	// for the scenario's duration_limit.
	HeadTimeout time.Duration
}

// ErrHeadLost ends a run on a live cluster whose head stopped answering.
var ErrHeadLost = ray.ErrHeadLost

// traceGrace is how long RunRemote waits at least after the drivers return
// for the last events streamed from the other processes (longer when
// their events came with a larger lag: liveStream.grace).
const traceGrace = 300 * time.Millisecond

// RunRemote runs a scenario's workload, fault schedule and expectations on
// a live cluster: this process joins it as a driver (ray.Connect) and runs
// every driver of the workload on its own driver raylet; the cluster's
// processes stream their events here, so counters, latencies and --trace
// cover the whole cluster. The scenario's cluster section is not applied
// (the live cluster is what it is); faults name live nodes by their
// --name: kill_node and restart_node crash and restart a node's raylet,
// partition, degrade_link and heal go through the TCP fault layer,
// task_errors sets the named raylets' rates (Session.TaskErrors);
// pause_node, skew_clock, kill_gcs_replica, kill_actor and link faults
// naming the control plane (scenarios.EndpointScheduler, EndpointGCS) are
// reported as not applied. Answers must equal the simulator's; timings differ.
func RunRemote(ctx context.Context, s *scenarios.Scenario, o Options, rm Remote) (*Result, error) {
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	start := time.Now()
	var actors []transport.ActorID
	m := newMetrics(&actors, o.OnEvent)
	m.lossy = true // a process killed mid-run loses the events it had not sent
	var cfg ray.Config
	rec := startTrace(&o, &cfg, m)
	var mu sync.Mutex // events arrive from every loop and the trace stream
	at := time.Duration(0)
	m.now = func() time.Duration { return at }
	// Events go to the counters and the trace in timestamp order, and only
	// the run's own (see liveStream); those from before the run started
	// (the subscription's first batches) are not the run's.
	live := newLiveStream(liveHold, func(t time.Time, ev *transport.Event) {
		if d := t.Sub(start.Round(0)); d >= 0 {
			at = d
			m.event(ev)
		}
	})
	live.net = func(t time.Time, ev *netsim.Event) {
		ev.At = max(t.Sub(start.Round(0)), 0)
		rec.Net(ev)
	}
	record := func(t time.Time, ev *transport.Event) {
		mu.Lock()
		live.add(t, ev, time.Now())
		mu.Unlock()
	}
	reg := ray.NewRegistry()
	funcs := workload.Register(reg)
	// An own workload's functions too: a cluster started from the same
	// program has them; raysim start's does not, and refuses the driver.
	if err := funcs.RegisterOwn(reg, s.Extensions()); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadScenario, s.File, err)
	}
	headTimeout := rm.HeadTimeout
	if headTimeout <= 0 {
		headTimeout = 10 * time.Second
	}
	sess, err := ray.Connect(ctx, rm.Address, ray.WithToken(rm.Token), ray.WithTLS(rm.TLS), ray.WithRegistry(reg),
		ray.WithHeadTimeout(headTimeout),
		ray.WithDeployConfig(func(dc *ray.DeployConfig) {
			dc.Logger = rm.Logger
			// Wall clock only (Round(0) drops the monotonic reading), as
			// the other processes' records are: a time with one and a
			// time without compare by the wall clock, while two with one
			// compare by the monotonic one, and the order would differ.
			dc.OnEvent = func(ev *transport.Event) { record(time.Now().Round(0), ev) }
		}))
	if err != nil {
		return nil, fmt.Errorf("runner: connect to %s: %w", rm.Address, err)
	}
	defer sess.Close()
	sess.Trace(func(b *transport.TraceBatch) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		for i := range b.Records {
			live.add(b.Records[i].At, &b.Records[i].Event, now)
		}
	})
	// Let the subscription reach every process before work starts.
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	start = time.Now()
	mu.Unlock()

	fi := &remoteFaults{s: s, sess: sess, ctx: ctx, ids: liveIDs(ctx, sess)}
	names := make(map[transport.NodeID]string, len(fi.ids))
	for name, id := range fi.ids {
		names[id] = name
	}
	mu.Lock()
	m.nodeName = func(id transport.NodeID) string { return names[id] } // the live nodes' --name
	mu.Unlock()
	fi.note = func(ev *netsim.Event) { // a fault as the simulator traces it, so analyze sees it
		mu.Lock()
		live.addNet(time.Now().Round(0), ev) // in its place among the runtime events
		mu.Unlock()
	}
	stopFaults := fi.schedule()
	defer stopFaults()

	tallies, err := startDrivers(s, funcs, func(_ int, d func(context.Context) error) error {
		err := sess.Go(d)
		mu.Lock()
		live.setRoots(sess.DriverTasks()) // long before its first event leaves the buffer (liveHold)
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, err
	}
	allDone, err := waitWall(ctx, s, sess.Wait, sess.HeadLost())
	if lost := sess.Err(); lost != nil {
		return nil, lost // the drivers ended with it too: the run is void
	}
	if err != nil {
		return nil, err
	}
	end := time.Since(start)
	stopFaults()
	time.Sleep(traceGrace)
	mu.Lock()
	more := live.grace(traceGrace) - traceGrace // a lagging process's last batch
	mu.Unlock()
	time.Sleep(more)
	mu.Lock()
	defer mu.Unlock()
	live.flush()
	r := m.result(s, "remote", end)
	r.FaultsInjected = fi.count()
	r.Warnings = append(r.Warnings, fi.warnings()...)
	if w := lateFaults(s, end); w != "" {
		r.Warnings = append(r.Warnings, w)
	}
	for _, g := range s.Cluster.Groups {
		if g.Start > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("cluster.nodes %s: start %s is not applied on a live cluster (its nodes are there or not)", g.Name, scenarios.FormatDuration(g.Start)))
		}
		if g.Autoscale != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("cluster.nodes %s: autoscale is not applied on a live cluster (its nodes are there or not)", g.Name))
		}
	}
	if n := rec.Clamped(); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%d trace %s came after later ones were written (a process's clock or its event stream lagged more than the %v the run held events for): written at the time before them",
			n, plural(int(n), "record", "records"), live.hold.Round(time.Millisecond)))
	}
	rec.SetOtherJobsEvents(live.others) // in the trace's end block, for analyze
	if live.others > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the cluster ran other jobs' tasks during the run: their %d events are not in its counters or trace, but they shared its CPUs", live.others))
	}
	r.Digest = rec.Digest().String()
	r.Events = rec.Count()
	r.EventsPerSecond = float64(r.Events) / max(end.Seconds(), 1e-9)
	finishResult(s, r, m, tallies, allDone, &ending{at: end, limit: s.DurationLimit, atLimit: !allDone, wall: true})
	return r, nil
}

// liveIDs maps the live cluster's node names to their IDs (empty if the
// head does not answer: faults are then traced under node 0).
func liveIDs(ctx context.Context, sess *ray.Session) map[string]transport.NodeID {
	ids := map[string]transport.NodeID{}
	if st, err := sess.Status(ctx); err == nil {
		for _, n := range st.Nodes {
			ids[n.Name] = n.Node
		}
	}
	return ids
}

// remoteFaults applies a scenario's fault schedule to a live cluster.
type remoteFaults struct {
	s    *scenarios.Scenario
	sess *ray.Session
	ctx  context.Context
	ids  map[string]transport.NodeID // live nodes by name
	// note records an applied fault in the run's trace as the simulator
	// would (netsim's crash, restart, partition, heal and degrade events),
	// so raysim analyze reports faults, detection and recovery for a live
	// run too.
	note func(ev *netsim.Event)

	mu       sync.Mutex
	timers   []*time.Timer
	injected int
	warns    []string
	stopped  bool
	owners   linkOwners // which fault set each link's current fault
	heals    int        // explicit heals applied (each ends every partition)
	// errOwner: the task_errors fault whose rate each node has now;
	// errStopped: the run has ended (endTaskErrors). Under errMu.
	errMu      sync.Mutex
	errOwner   map[string]*scenarios.Fault
	errStopped bool
}

// linkOwners records, per directed link, which fault (a number per
// partition or degrade_link applied) set its current state, so that a
// fault's `for` undoes only the links no later fault has taken over, as
// netsim's HealPartition and RestoreDegradation do in the simulator.
type linkOwners struct {
	seq   int
	owner map[[2]string]int
}

// take records fault set's links as a new fault's and returns its number.
func (o *linkOwners) take(set []*transport.LinkFault) int {
	if o.owner == nil {
		o.owner = map[[2]string]int{}
	}
	o.seq++
	for _, lf := range set {
		for _, a := range lf.From {
			for _, b := range lf.To {
				o.owner[[2]string{a, b}] = o.seq
			}
		}
	}
	return o.seq
}

// release gives up fault id's links and returns those still its own (one
// LinkFault per link, in set's order), which the caller clears.
func (o *linkOwners) release(id int, set []*transport.LinkFault) []*transport.LinkFault {
	var mine []*transport.LinkFault
	for _, lf := range set {
		for _, a := range lf.From {
			for _, b := range lf.To {
				if k := [2]string{a, b}; o.owner[k] == id {
					delete(o.owner, k)
					mine = append(mine, &transport.LinkFault{From: []string{a}, To: []string{b}})
				}
			}
		}
	}
	return mine
}

// reset forgets every link's fault (a heal cleared them all).
func (o *linkOwners) reset() { clear(o.owner) }

func (f *remoteFaults) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

func (f *remoteFaults) warnings() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.warns
}

func (f *remoteFaults) warn(format string, args ...any) {
	f.mu.Lock()
	f.warns = append(f.warns, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *remoteFaults) after(d time.Duration, fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	f.timers = append(f.timers, time.AfterFunc(d, fn))
}

// schedule arms a timer per fault; the returned function disarms them (and
// heals the links it cut).
func (f *remoteFaults) schedule() func() {
	for i := range f.s.Faults {
		fl := &f.s.Faults[i]
		if fl.Kind == scenarios.Random {
			f.warn("line %d: random faults are not applied on a live cluster", fl.Line)
			continue
		}
		f.after(fl.At, func() { f.apply(fl) })
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			f.stopped = true
			for _, t := range f.timers {
				t.Stop()
			}
			f.mu.Unlock()
			f.sess.LinkFault(&transport.LinkFault{Clear: true})
			f.endTaskErrors()
		})
	}
}

func (f *remoteFaults) apply(fl *scenarios.Fault) {
	if f.s.NamesControl(fl) {
		f.warn("line %d: %s names the control plane (%s, %s): not applied on a live cluster", fl.Line, fl.Kind,
			scenarios.EndpointScheduler, scenarios.EndpointGCS)
		return
	}
	switch fl.Kind {
	case scenarios.KillNode, scenarios.RestartNode:
		op := transport.ControlKill
		if fl.Kind == scenarios.RestartNode {
			op = transport.ControlRestart
		}
		if err := f.sess.Control(f.ctx, op, fl.Node); err != nil {
			f.warn("line %d: %s %s: %v", fl.Line, fl.Kind, fl.Node, err)
			return
		}
		id := netsim.NodeID(f.ids[fl.Node])
		kind := netsim.EvCrash
		if fl.Kind == scenarios.RestartNode {
			kind = netsim.EvRestart
		}
		f.note(&netsim.Event{Kind: kind, From: id, To: id})
	case scenarios.Partition:
		var set []*transport.LinkFault
		for i, a := range fl.Groups {
			for j, b := range fl.Groups {
				if i != j {
					set = append(set, &transport.LinkFault{From: a, To: b, Down: true})
				}
			}
		}
		var b strings.Builder
		for _, g := range fl.Groups {
			b.WriteByte('[')
			for i, name := range g {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(strconv.FormatUint(uint64(f.ids[name]), 10))
			}
			b.WriteByte(']')
		}
		groups := b.String()
		f.note(&netsim.Event{Kind: netsim.EvPartition, Detail: groups})
		f.mu.Lock()
		heals := f.heals
		f.mu.Unlock()
		f.links(set, fl.For, func([]*transport.LinkFault) {
			// This partition's own end, as netsim's HealPartition logs it
			// (even when later faults took over every one of its links),
			// unless a heal ended it before.
			f.mu.Lock()
			healed := f.heals != heals
			f.mu.Unlock()
			if !healed {
				f.note(&netsim.Event{Kind: netsim.EvHeal, Detail: groups})
			}
		})
	case scenarios.Heal:
		f.mu.Lock()
		f.owners.reset()
		f.heals++
		f.mu.Unlock()
		f.sess.LinkFault(&transport.LinkFault{Clear: true})
		f.note(&netsim.Event{Kind: netsim.EvHeal})
	case scenarios.DegradeLink:
		l := fl.Link
		lf := transport.LinkFault{From: l.FromNodes, To: l.ToNodes}
		if l.Latency != nil {
			lf.Delay = time.Duration(l.Latency.Expected())
		}
		if l.Loss != nil {
			lf.Loss = *l.Loss
		}
		set := []*transport.LinkFault{&lf}
		if l.Symmetric {
			back := lf
			back.From, back.To = lf.To, lf.From
			set = append(set, &back)
		}
		for _, lf := range set {
			for _, from := range lf.From {
				for _, to := range lf.To {
					a, b := netsim.NodeID(f.ids[from]), netsim.NodeID(f.ids[to])
					f.note(&netsim.Event{Kind: netsim.EvDegrade, From: a, To: b, Size: int64(lf.Delay),
						Detail: "loss=" + strconv.FormatFloat(lf.Loss, 'g', -1, 64)})
				}
			}
		}
		f.links(set, fl.For, func(undone []*transport.LinkFault) {
			for _, lf := range undone { // one link each
				a, b := netsim.NodeID(f.ids[lf.From[0]]), netsim.NodeID(f.ids[lf.To[0]])
				f.note(&netsim.Event{Kind: netsim.EvDegrade, From: a, To: b, Detail: "restore"})
			}
		})
	case scenarios.TaskErrors:
		if !f.taskErrors(fl) {
			return
		}
	default:
		f.warn("line %d: %s is not applied on a live cluster", fl.Line, fl.Kind)
		return
	}
	f.mu.Lock()
	f.injected++
	f.mu.Unlock()
}

// taskErrors applies a task_errors fault to the live nodes it names (every
// node the cluster listed at the start when it names none) and, if it has
// a for, ends it then on the nodes no later task_errors took over, tracing
// its start and end as the simulator does. It reports whether it reached
// a node. Starts, ends and the run's end (endTaskErrors) are serialized:
// each runs on a timer goroutine of its own, and an end racing a later
// start on the same node must not clear the later one's rate.
func (f *remoteFaults) taskErrors(fl *scenarios.Fault) bool {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	if f.errStopped {
		return false
	}
	names := fl.Errors.Nodes
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(f.ids))
	}
	var mine []string
	for _, name := range names {
		if f.setRate(f.ctx, fl, name, fl.Errors.Rate) {
			if f.errOwner == nil {
				f.errOwner = map[string]*scenarios.Fault{}
			}
			f.errOwner[name] = fl
			mine = append(mine, name)
		}
	}
	if len(mine) == 0 {
		return false
	}
	f.note(&netsim.Event{Kind: netsim.EvCustom, Detail: scenarios.TaskErrorsStarted + fl.Errors.Describe()})
	if fl.For > 0 {
		f.after(fl.For, func() {
			f.errMu.Lock()
			defer f.errMu.Unlock()
			if f.errStopped {
				return
			}
			for _, name := range mine {
				if f.errOwner[name] == fl {
					delete(f.errOwner, name)
					f.setRate(f.ctx, fl, name, 0)
				}
			}
			f.note(&netsim.Event{Kind: netsim.EvCustom, Detail: scenarios.TaskErrorsEnded + fl.Errors.Describe()})
		})
	}
	return true
}

// setRate sets a node's task_errors rate, warning if the head refuses.
func (f *remoteFaults) setRate(ctx context.Context, fl *scenarios.Fault, name string, rate float64) bool {
	if err := f.sess.TaskErrors(ctx, name, rate); err != nil {
		f.warn("line %d: %s on %s: %v", fl.Line, fl.Kind, name, err)
		return false
	}
	return true
}

// endTaskErrors puts every node a task_errors fault still holds back to
// 0 as the run ends: the rate lives in the node's process, and would fail
// later runs' tasks (a fault without for, one whose for outlasts the run,
// a run interrupted). It asks on a context of its own: the run's may be
// done.
func (f *remoteFaults) endTaskErrors() {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	f.errStopped = true
	if len(f.errOwner) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range slices.Sorted(maps.Keys(f.errOwner)) {
		f.setRate(ctx, f.errOwner[name], name, 0)
	}
	clear(f.errOwner)
}

// links sets faults and, if d > 0, removes them d later from the links no
// later fault (or heal) has taken over since; undone, if set, is told
// which links were.
func (f *remoteFaults) links(set []*transport.LinkFault, d time.Duration, undone func([]*transport.LinkFault)) {
	f.mu.Lock()
	id := f.owners.take(set)
	f.mu.Unlock()
	for _, lf := range set {
		f.sess.LinkFault(lf)
	}
	if d > 0 {
		f.after(d, func() {
			f.mu.Lock()
			mine := f.owners.release(id, set)
			f.mu.Unlock()
			for _, lf := range mine {
				f.sess.LinkFault(lf)
			}
			if undone != nil {
				undone(mine)
			}
		})
	}
}
