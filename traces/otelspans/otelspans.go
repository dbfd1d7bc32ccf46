// Package otelspans turns a raysim trace into OpenTelemetry spans: one span
// per task, from its submission, with child spans for its phases —
// "schedule" (submission to acceptance by the executing node), "fetch args"
// (acceptance to all arguments local), "queue" (to a worker starting it)
// and "execute" (running to finished) — stamped with virtual time (netsim's
// epoch plus the record's virtual time). Trace and span IDs are derived
// from the task IDs and the run's identity (its digest, Options.Digest,
// else a hash of the trace's header), so the same trace exports the same
// spans and two runs — two policies, a simulated and a TCP run — exported
// to one collector do not merge.
//
// task.submitted records the submitting task (Object.Task), so a task
// submitted by a running task is a child span of that task's span and a
// dynamic task graph is one trace; a task a driver submits starts a trace
// of its own. Propagating trace context inside the wire messages, for
// external tracers on a live cluster, is not done here.
package otelspans

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"raysim/netsim"
	"raysim/runtime/transport"
	"raysim/scenarios"
	"raysim/traces"
)

// Epoch is the wall time virtual time 0 maps to.
var Epoch = netsim.DefaultEpoch

// idGen derives IDs deterministically: the trace ID from the task being
// started (set in the context), span IDs from a counter, both mixed with
// the run's identity.
type idGen struct {
	mu   sync.Mutex
	next uint64
	run  traces.Digest
}

type taskKey struct{}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (g *idGen) spanID() trace.SpanID {
	g.mu.Lock()
	g.next++
	n := g.next
	g.mu.Unlock()
	var s trace.SpanID
	binary.BigEndian.PutUint64(s[:], mix(n^g.run[1])|1)
	return s
}

func (g *idGen) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var t trace.TraceID
	k, _ := ctx.Value(taskKey{}).(uint64)
	binary.BigEndian.PutUint64(t[:8], mix(k^g.run[0])|1)
	binary.BigEndian.PutUint64(t[8:], mix(k^g.run[1]^0x5851f42d4c957f2d))
	return t, g.spanID()
}

func (g *idGen) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return g.spanID() }

type taskState struct {
	root       trace.Span
	ctx        context.Context
	name       string
	phaseStart time.Duration
	phase      string // the phase running since phaseStart
	node       transport.NodeID
	attempt    int
	// accepted: the "queue" phase began at acceptance, before any
	// argument was seen missing; a task.arg "fetch" turns it into
	// "fetch args" (the runtime emits task.args_ready only after a fetch).
	accepted bool
}

// Options tune Export.
type Options struct {
	// ServiceName is the resource's service.name (default "raysim").
	ServiceName string
	// NodeName names an endpoint ("" or nil: traces.NodeNamer's name, as
	// `raysim analyze` and the Chrome export name it).
	NodeName func(transport.NodeID) string
	// Batch exports in batches (for a network exporter) instead of span by
	// span.
	Batch bool
	// Digest is the run's digest (traces.ReadTrailer, from the end block;
	// "" when unknown, an interrupted run's trace): it is mixed into the
	// trace and span IDs with the header (RunIdentity) and set as the
	// resource's raysim.digest.
	Digest string
}

// RunIdentity is what Export mixes into its IDs: a hash of the header's
// scenario (seed and policy included), overrides, transport and buggify,
// and of the run's digest when given (two live runs of one scenario differ
// in their records alone; two runs of one scenario whose records agree —
// a one-node cluster under two policies — in their headers alone).
func RunIdentity(h *traces.Header, digest string) traces.Digest {
	d := traces.NewDigest()
	d.Add([]byte(digest))
	d.Add(h.Scenario)
	d.Add([]byte(h.Transport))
	for _, o := range h.Overrides {
		d.Add([]byte(o))
	}
	if h.Buggify {
		d.Add([]byte("buggify"))
	}
	return d
}

// policyOf is the scheduling policy of the header's scenario ("" when it
// cannot be read).
func policyOf(h *traces.Header) string {
	s, err := scenarios.Parse(h.File, h.Scenario)
	if err != nil {
		return ""
	}
	return s.Cluster.Scheduler.Policy
}

// Export reads the trace and sends its task spans to exp (synchronously;
// the caller shuts the exporter down). It returns the number of tasks.
func Export(ctx context.Context, r *traces.Reader, exp sdktrace.SpanExporter, o Options) (int, error) {
	if o.ServiceName == "" {
		o.ServiceName = "raysim"
	}
	h := r.Header()
	transportName := h.Transport
	if transportName == "" {
		transportName = "sim"
	}
	overrides := make([]string, len(h.Overrides))
	for i, ov := range h.Overrides {
		overrides[i] = utf8Text(ov)
	}
	attrs := []attribute.KeyValue{
		attribute.String("service.name", o.ServiceName),
		attribute.String("raysim.scenario", utf8Text(h.File)),
		attribute.Int64("raysim.seed", h.Seed),
		attribute.String("raysim.version", utf8Text(h.Version)),
		attribute.String("raysim.transport", utf8Text(transportName)),
		attribute.String("raysim.policy", utf8Text(policyOf(h))),
		attribute.StringSlice("raysim.overrides", overrides),
	}
	if o.Digest != "" {
		attrs = append(attrs, attribute.String("raysim.digest", utf8Text(o.Digest)))
	}
	if h.Buggify {
		attrs = append(attrs, attribute.Bool("raysim.buggify", true))
	}
	res := resource.NewSchemaless(attrs...)
	proc := sdktrace.WithSyncer(exp)
	if o.Batch {
		proc = sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(2048), sdktrace.WithMaxQueueSize(1<<16),
			sdktrace.WithBlocking())
	}
	tp := sdktrace.NewTracerProvider(proc, sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(&idGen{run: RunIdentity(h, o.Digest)}), sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanLimits(sdktrace.SpanLimits{AttributeCountLimit: 32, EventCountLimit: 64,
			LinkCountLimit: 8, AttributePerEventCountLimit: 8, AttributePerLinkCountLimit: 8, AttributeValueLengthLimit: -1}))
	tracer := tp.Tracer("raysim/traces")
	ts := func(d time.Duration) time.Time { return Epoch.Add(d) }
	names := traces.NodeNamer(h)
	nodeName := func(id transport.NodeID) string {
		if o.NodeName != nil {
			if s := o.NodeName(id); s != "" {
				return s
			}
		}
		return names(id)
	}
	open := map[transport.TaskID]*taskState{}
	tasks := 0
	var end time.Duration
	child := func(st *taskState, name string, from, to time.Duration, attrs ...attribute.KeyValue) {
		_, sp := tracer.Start(st.ctx, name, trace.WithTimestamp(ts(from)), trace.WithAttributes(attrs...))
		sp.End(trace.WithTimestamp(ts(to)))
	}
	closePhase := func(st *taskState, at time.Duration) {
		if st.phase != "" {
			child(st, st.phase, st.phaseStart, at, attribute.String("raysim.node", nodeName(st.node)),
				attribute.Int("raysim.attempt", st.attempt))
		}
		st.phaseStart = at
		st.phase = ""
	}
	finish := func(id transport.TaskID, st *taskState, at time.Duration, status string, err string) {
		closePhase(st, at)
		st.root.SetAttributes(attribute.String("raysim.status", status))
		if err != "" || status == "failed" { // (a failure's text may be empty)
			st.root.SetStatus(codes.Error, utf8Text(err))
		}
		st.root.End(trace.WithTimestamp(ts(at)))
		delete(open, id)
	}
	for _, rec := range r.All() {
		if err := ctx.Err(); err != nil {
			return tasks, err
		}
		end = rec.At
		if rec.IsNet() {
			continue
		}
		st := open[rec.Task]
		switch rec.RuntimeKind() {
		case transport.EvTaskSubmitted:
			if st != nil {
				continue
			}
			tasks++
			// A task submitted by a running task nests under it: a dynamic
			// task graph is one trace. Others (a driver's) start their own.
			parentCtx, rootOpt := ctx, trace.WithNewRoot()
			if p := open[rec.Object.Task]; p != nil && rec.Object.Task != 0 {
				parentCtx, rootOpt = p.ctx, trace.WithSpanKind(trace.SpanKindInternal)
			}
			tctx := context.WithValue(parentCtx, taskKey{}, uint64(rec.Task))
			fn := utf8Text(rec.Detail)
			sctx, root := tracer.Start(tctx, "task "+fn, trace.WithTimestamp(ts(rec.At)),
				rootOpt, trace.WithSpanKind(trace.SpanKindInternal),
				trace.WithAttributes(attribute.String("raysim.task", rec.Task.String()),
					attribute.String("raysim.function", fn),
					attribute.String("raysim.owner", nodeName(rec.Node))))
			open[rec.Task] = &taskState{root: root, ctx: sctx, name: rec.Detail, phaseStart: rec.At, phase: "schedule", node: rec.Node}
		case transport.EvTaskPlaced:
			if st == nil {
				continue
			}
			if rec.Peer == rec.Node { // accepted by the executing node
				if st.phase == "schedule" {
					st.node = rec.Node
					_, sp := tracer.Start(st.ctx, "schedule", trace.WithTimestamp(ts(st.phaseStart)),
						trace.WithAttributes(attribute.String("raysim.node", nodeName(rec.Node)),
							attribute.String("raysim.reason", utf8Text(rec.Detail)), attribute.Int("raysim.attempt", st.attempt)))
					sp.End(trace.WithTimestamp(ts(rec.At)))
					// Queued unless an argument must be fetched: the raylet
					// emits a task.arg "fetch" record for each missing
					// argument right after accepting the task (and
					// task.args_ready once they are all here), nothing
					// when they are all local.
					st.phaseStart, st.phase, st.accepted = rec.At, "queue", true
				}
			} else {
				st.root.AddEvent("spilled", trace.WithTimestamp(ts(rec.At)),
					trace.WithAttributes(attribute.String("raysim.from", nodeName(rec.Node))))
			}
		case transport.EvTaskArg:
			if st != nil && st.phase == "queue" && st.accepted && rec.Detail == "fetch" && rec.Node == st.node {
				if rec.At != st.phaseStart {
					closePhase(st, rec.At) // not seen from the runtime: it fetches at acceptance
				}
				st.phase = "fetch args"
			}
		case transport.EvTaskArgsReady:
			if st != nil && st.phase == "fetch args" {
				closePhase(st, rec.At)
				st.phase = "queue"
			}
			if st != nil {
				st.accepted = false
			}
		case transport.EvTaskRunning:
			if st != nil {
				closePhase(st, rec.At)
				st.node = rec.Node
				st.phase, st.accepted = "execute", false
			}
		case transport.EvTaskFinished:
			if st != nil {
				finish(rec.Task, st, rec.At, "finished", "")
			}
		case transport.EvActorCreated:
			if st != nil {
				finish(rec.Task, st, rec.At, "actor created", "")
			}
		case transport.EvTaskFailed:
			if st != nil {
				finish(rec.Task, st, rec.At, "failed", rec.Detail)
			}
		case transport.EvTaskCancelled:
			if st != nil {
				finish(rec.Task, st, rec.At, "cancelled", "cancelled")
			}
		case transport.EvTaskRetried:
			if st != nil {
				inPlace := st.phase == "execute" && rec.Node == st.node
				if inPlace {
					// Its code failed and it runs again here
					// (RetryExceptions): the failed run is an execute
					// span of its own, marked so; the next run's
					// task.running opens the next.
					child(st, "execute", st.phaseStart, rec.At, attribute.String("raysim.node", nodeName(st.node)),
						attribute.Int("raysim.attempt", st.attempt), attribute.String("raysim.retried", utf8Text(rec.Detail)))
				}
				if !inPlace && st.phase != "" {
					// The attempt was lost (its node died, its spill
					// target was gone): its interrupted phase lasts until
					// the retry, marked raysim.lost, so the phases tile
					// the task span (raysim analyze counts that time as
					// the attempt's queueing).
					child(st, st.phase, st.phaseStart, rec.At, attribute.String("raysim.node", nodeName(st.node)),
						attribute.Int("raysim.attempt", st.attempt), attribute.String("raysim.lost", utf8Text(rec.Detail)))
				}
				st.attempt++
				st.root.AddEvent("retried", trace.WithTimestamp(ts(rec.At)))
				// The task is scheduled again; a run retried in place
				// waits for a worker here (queue) until it runs again.
				st.phaseStart, st.phase, st.accepted = rec.At, "schedule", false
				if inPlace {
					st.phase = "queue"
				}
			}
		}
	}
	ids := make([]transport.TaskID, 0, len(open))
	for id := range open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		finish(id, open[id], end, "unfinished", "")
	}
	err := r.Err()
	if e := tp.ForceFlush(ctx); err == nil {
		err = e
	}
	return tasks, err
}

// utf8Text is s with each run of invalid UTF-8 bytes replaced by U+FFFD:
// OTLP is protobuf, whose string fields must be valid UTF-8 (a record's
// Detail, a task's error text, may hold the error value's raw bytes), and
// one invalid string fails the marshalling of the whole batch.
func utf8Text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
