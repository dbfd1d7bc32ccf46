package workload

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/scenarios"
)

func sortedKeys(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (d *driver) parallel(ctx context.Context, p *scenarios.ParallelParams) error {
	n := d.share(p)
	refs := make([]ray.Ref[ray.Blob], n)
	keys := make([]uint64, n)
	sizes := make([]int64, n)
	for i := range refs {
		if err := d.gap(ctx, i == 0); err != nil {
			return err
		}
		keys[i] = Mix(d.key, uint64(i))
		dur := p.Duration.Sample(d.rng)
		sizes[i] = p.OutputSize.Sample(d.rng)
		refs[i] = d.f.task.Options(d.opts(dur, "parallel")...).Remote(ctx, keys[i], sizes[i])
	}
	right := func(i int, b ray.Blob) bool { return b.Sum == Mix(keys[i]) && b.Bytes == sizes[i] }
	// A reread through the reducer folds the size into the sum.
	rightReread := func(i int, b ray.Blob) bool { return b.Sum == Mix(keys[i])+uint64(sizes[i]) }
	all := refs
	reread := func() {} // the second reads of cancelled refs, if any
	if p.CancelEvery > 0 {
		// Some are done by now, some run, most wait: the cancels meet each.
		var cancelled []int
		kept, keptIdx := refs[:0:0], []int(nil)
		for i, r := range refs {
			if (i+1)%p.CancelEvery != 0 {
				kept, keptIdx = append(kept, r), append(keptIdx, i)
				continue
			}
			if err := ray.Cancel(ctx, r); err != nil {
				return err
			}
			cancelled = append(cancelled, i)
		}
		crefs := make([]ray.Ref[ray.Blob], len(cancelled))
		for j, i := range cancelled {
			crefs[j] = refs[i]
		}
		cvals, firsts := getEach(ctx, crefs)
		for j, i := range cancelled {
			v, err := cvals[j], firsts[j]
			d.t.cancelled(err, err == nil && right(i, v), fmt.Sprintf("parallel task %d (cancelled)", i))
		}
		// Once the rest is read (the later the second read, the more can
		// happen between), and before a free: a freed result would be
		// rebuilt from lineage, and the two reads compared with a re-run.
		// The second reads are all submitted, then read together: one at
		// a time, they would add their round trips to the run's end.
		reread = func() {
			again := make([]ray.Ref[ray.Blob], len(cancelled))
			for j, i := range cancelled {
				again[j] = d.f.reducer.Options(d.rereadOpts()...).Remote(ctx, all[i])
			}
			vs, errs := getEach(ctx, again)
			for j, i := range cancelled {
				v, err := vs[j], errs[j]
				d.t.reread(firsts[j], err, err == nil && rightReread(i, v), fmt.Sprintf("parallel task %d (cancelled)", i))
			}
		}
		refs = kept
		r := right
		right = func(j int, b ray.Blob) bool { return r(keptIdx[j], b) }
	}
	err := d.collect(ctx, refs, right, "parallel task")
	reread()
	if err != nil || !p.Free {
		return err
	}
	return ray.Free(ctx, all...)
}

// collect reads refs (getEach: together, so that one failure neither hides
// the rest nor makes them wait one at a time) and checks each value.
func (d *driver) collect(ctx context.Context, refs []ray.Ref[ray.Blob], ok func(int, ray.Blob) bool, what string) error {
	vs, errs := getEach(ctx, refs)
	var failed []int
	for i, err := range errs {
		if err != nil {
			d.t.fail(err)
			if failedForGood(err) {
				failed = append(failed, i)
			}
			continue
		}
		d.t.check(ok(i, vs[i]), fmt.Sprintf("%s %d", what, i))
	}
	// A task failed for good is its result: a second read, through a task
	// elsewhere, must not find a value (a run its owner gave up on that
	// finished after all, its value then located beside the failure).
	again := make([]ray.Ref[ray.Blob], len(failed))
	for j, i := range failed {
		again[j] = d.f.reducer.Options(d.rereadOpts()...).Remote(ctx, refs[i])
	}
	_, errs = getEach(ctx, again)
	for j, i := range failed {
		d.t.checkAs(errs[j] != nil, fmt.Sprintf("%s %d: read failed for good, then a value", what, i), true)
	}
	return nil
}

// getEach returns each ref's value or error, reading them together: a Get
// of the whole list first (Ray's get of a list, which ends at the first
// error), and after an error a wait for every ref to be here (Wait with
// FetchLocal: each lost result is rebuilt and each remote one fetched side
// by side, as the Get of the list does) before each is read. A Get of one
// ref after another would find each lost result, and rebuild it, only when
// the loop reached it: the run's end would then measure the reading loop,
// not the tasks. Wait's own error (the cluster lost) is no answer: the
// reads that follow give each ref its own.
func getEach[T any](ctx context.Context, refs []ray.Ref[T]) ([]T, []error) {
	errs := make([]error, len(refs))
	if len(refs) == 0 {
		return nil, errs
	}
	if vs, err := ray.GetAll(ctx, refs, -1); err == nil {
		return vs, errs
	}
	// A ref whose submission failed names no object: Wait would refuse the
	// whole list for it.
	var waits []ray.Ref[T]
	for _, r := range refs {
		if r.Err() == nil {
			waits = append(waits, r)
		}
	}
	_, _, _ = ray.Wait(ctx, waits, len(waits), -1, ray.FetchLocal())
	vs := make([]T, len(refs))
	for i, r := range refs {
		vs[i], errs[i] = ray.Get(ctx, r)
	}
	return vs, errs
}

func (d *driver) treeReduce(ctx context.Context, p *scenarios.TreeReduceParams) error {
	level := make([]any, p.Leaves)
	want := make([]int64, p.Leaves) // the sequential evaluation, level by level
	for i := range level {
		want[i] = int64(i)
		if err := d.gap(ctx, i == 0); err != nil {
			return err
		}
		level[i] = d.f.leaf.Options(d.opts(p.Duration.Sample(d.rng), "leaf")...).Remote(ctx, int64(i))
	}
	for len(level) > 1 {
		var next []any
		for i := 0; i < len(level); i += p.Fanin {
			group := level[i:min(i+p.Fanin, len(level))]
			next = append(next, d.f.sum.Options(d.opts(p.Duration.Sample(d.rng), "reduce")...).Remote(ctx, group...))
			want = append(want, Combine(want[i:min(i+p.Fanin, len(level))]))
		}
		want = want[len(level):]
		level = next
	}
	total, err := ray.Get(ctx, level[0].(ray.Ref[int64]))
	if err != nil {
		return err
	}
	d.t.check(total == want[0], fmt.Sprintf("tree root %d, want %d", total, want[0]))
	return nil
}

func (d *driver) mapReduce(ctx context.Context, p *scenarios.MapReduceParams) error {
	maps := make([]ray.Ref[[]ray.Ref[ray.Blob]], p.Maps)
	parts := make([][]ray.Ref[ray.Blob], p.Maps) // partition j of map i: parts[i][j]
	var streams []*ray.Stream[ray.Blob]          // stream: true, map i's
	sizes := make([]int64, p.Maps)
	for i := range maps {
		if err := d.gap(ctx, i == 0); err != nil {
			return err
		}
		sizes[i] = p.PartitionSize.Sample(d.rng)
		shape := [2]int64{int64(p.Reduces), sizes[i]}
		opts := d.opts(p.MapDuration.Sample(d.rng), "map")
		switch {
		case p.Returns: // the partitions are the map's returns: refs now
			var err error
			if parts[i], err = d.f.mapperN.Options(opts...).Remote(ctx, p.Reduces, Mix(d.key, uint64(i)), shape); err != nil {
				return err
			}
		case p.Stream: // the partitions come as the map yields them
			streams = append(streams, d.f.mapperGen.Options(opts...).Remote(ctx, Mix(d.key, uint64(i)), shape))
		default:
			maps[i] = d.f.mapper.Options(opts...).Remote(ctx, Mix(d.key, uint64(i)), shape)
		}
	}
	for i, s := range streams {
		for ref, err := range s.All(ctx) {
			if err != nil {
				return err
			}
			parts[i] = append(parts[i], ref)
		}
		if n := len(parts[i]); n != p.Reduces {
			if n > 0 { // a map that failed ends its stream with its error, as an item
				if _, err := ray.Get(ctx, parts[i][n-1]); err != nil {
					return err
				}
			}
			d.t.check(false, fmt.Sprintf("map %d: %d partitions streamed, want %d", i, len(parts[i]), p.Reduces))
			return nil
		}
	}
	if !p.Returns && !p.Stream {
		var err error
		if parts, err = ray.GetAll(ctx, maps, -1); err != nil {
			return err
		}
		for i, part := range parts { // a map's list of partitions is a result too
			if len(part) != p.Reduces {
				d.t.check(false, fmt.Sprintf("map %d: %d partitions, want %d", i, len(part), p.Reduces))
				return nil
			}
		}
		if p.Free { // the driver holds the partitions' refs now, not the lists
			if err := ray.Free(ctx, maps...); err != nil {
				return err
			}
		}
	}
	reduces := make([]ray.Ref[ray.Blob], p.Reduces)
	for j := range reduces {
		args := make([]any, p.Maps)
		for i := range args {
			args[i] = parts[i][j]
		}
		reduces[j] = d.f.reducer.Options(d.opts(p.ReduceDuration.Sample(d.rng), "reduce")...).Remote(ctx, args...)
	}
	err := d.collect(ctx, reduces, func(j int, b ray.Blob) bool {
		var want uint64
		for i := 0; i < p.Maps; i++ {
			want += Mix(Mix(d.key, uint64(i)), uint64(j)) + uint64(sizes[i]) // the reducer counts the sizes
		}
		return b.Sum == want && b.Bytes == 64
	}, "reduce")
	if err != nil || !p.Free {
		return err
	}
	for _, part := range parts {
		if err := ray.Free(ctx, part...); err != nil {
			return err
		}
	}
	for _, s := range streams { // and each stream's end
		if err := ray.Free(ctx, s.Ref()); err != nil {
			return err
		}
	}
	return ray.Free(ctx, reduces...)
}

func (d *driver) chain(ctx context.Context, p *scenarios.ChainParams) error {
	n := d.share(p)
	ends := make([]ray.Ref[ray.Blob], n)
	sizes := make([]int64, n) // of each chain's last link
	for c := range ends {
		if err := d.gap(ctx, c == 0); err != nil {
			return err
		}
		var prev any = ray.Blob{}
		for i := 0; i < p.Length; i++ {
			dur := p.Duration.Sample(d.rng)
			sizes[c] = p.ObjectSize.Sample(d.rng)
			r := d.f.link.Options(d.opts(dur, "chain")...).Remote(ctx, prev, sizes[c])
			prev = r
			ends[c] = r
		}
	}
	return d.collect(ctx, ends, func(c int, b ray.Blob) bool { return b.Sum == uint64(p.Length) && b.Bytes == sizes[c] }, "chain")
}

func (d *driver) nestedRun(ctx context.Context, p *scenarios.NestedParams) error {
	n := d.share(p)
	refs := make([]ray.Ref[int64], n)
	args := make([]nestedArgs, n)
	for i := range refs {
		if err := d.gap(ctx, i == 0); err != nil {
			return err
		}
		dur := p.Duration.Sample(d.rng)
		args[i] = nestedArgs{Key: Mix(d.key, uint64(i)), Depth: p.Depth, Fanout: p.Fanout, Duration: int64(dur),
			Retries: d.w.MaxRetries, Resources: d.w.Resources, RetryErrors: d.w.RetryExceptions}
		refs[i] = d.f.nested.Options(d.opts(dur, "nested")...).Remote(ctx, args[i])
	}
	cancelled := func(i int) bool { return p.CancelEvery > 0 && (i+1)%p.CancelEvery == 0 }
	for i, r := range refs {
		if cancelled(i) { // some trees are done by now, some run, some wait
			if err := ray.Cancel(ctx, r); err != nil {
				return err
			}
		}
	}
	vs, firsts := getEach(ctx, refs)
	for i, v := range vs {
		err := firsts[i]
		what := fmt.Sprintf("nested root %d: %d tasks", i, v)
		switch {
		case cancelled(i):
			d.t.cancelled(err, err == nil && v == nestedCount(args[i]), what)
		case err != nil:
			d.t.fail(err)
		default:
			d.t.check(v == nestedCount(args[i]), what)
		}
	}
	var again []ray.Ref[int64] // the second reads, submitted together (see getEach)
	var idx []int
	for i, r := range refs {
		if cancelled(i) {
			again = append(again, d.f.sum.Options(d.rereadOpts()...).Remote(ctx, r))
			idx = append(idx, i)
		}
	}
	vs, errs := getEach(ctx, again)
	for j, i := range idx {
		v, err := vs[j], errs[j]
		d.t.reread(firsts[i], err, err == nil && v == nestedCount(args[i]), fmt.Sprintf("nested root %d (cancelled)", i))
	}
	return nil
}

// SimulatorRestarts is the max_restarts of rl's simulator actors: one
// dies for good only after this many deaths and one more (the fault
// search's allowed-errors counts them).
const SimulatorRestarts = 3

func (d *driver) rl(ctx context.Context, p *scenarios.RLParams) error {
	actors := make([]ray.ActorHandle[simulator], p.Actors)
	for a := range actors {
		// Rollouts are stateless, so a simulator lost with its node is
		// restarted and its calls retried, as an RL user of Ray would set
		// max_restarts and max_task_retries. Its state (the rollouts it has
		// run) can be checkpointed, and rebuilt by replay (figure 11b).
		opts := []ray.Option{ray.Name("simulator"), ray.MaxRestarts(SimulatorRestarts), ray.Spread(), ray.CheckpointEvery(p.CheckpointEvery)}
		if p.Replay {
			opts = append(opts, ray.ReplayMethods())
		}
		if p.MaxConcurrency > 1 {
			opts = append(opts, ray.MaxConcurrency(p.MaxConcurrency))
		}
		actors[a] = d.f.sim.Options(opts...).New(ctx, Mix(d.key, uint64(a)))
	}
	policy, want := Mix(d.key, 99), Mix(d.key, 99)
	type read struct { // a cancelled rollout's first read, to compare a second with
		ref   ray.Ref[ray.Blob]
		err   error
		sum   uint64
		round int
	}
	var firsts []read
	for round := 0; round < p.Rounds; round++ {
		var cancelled ray.Ref[ray.Blob]
		sent := policy
		cancel := p.CancelEvery > 0 && (round+1)%p.CancelEvery == 0
		if cancel { // a call its caller gives up on: it must not hold up the round's
			cancelled = d.f.rollout.Options(ray.Duration(p.RolloutDuration.Sample(d.rng)), ray.Name("rollout"), ray.MaxRetries(3)).Remote(ctx, actors[0], policy)
		}
		args := []any{ray.Blob{Sum: policy}}
		for a, h := range actors {
			for range max(p.RolloutsPerActor, 1) {
				dur := p.RolloutDuration.Sample(d.rng)
				args = append(args, d.f.rollout.Options(ray.Duration(dur), ray.Name("rollout"), ray.MaxRetries(3)).Remote(ctx, h, policy))
				want = Mix(want, Mix(Mix(d.key, uint64(a)), policy))
			}
		}
		if cancel { // by now it may wait to be sent, wait at its actor, run, or be done
			if err := ray.Cancel(ctx, cancelled); err != nil {
				return err
			}
		}
		var err error
		policy, err = ray.Get(ctx, d.f.update.Options(d.opts(p.UpdateDuration.Sample(d.rng), "update")...).Remote(ctx, args...))
		if err != nil {
			return err
		}
		d.t.check(policy == want, fmt.Sprintf("rl round %d policy", round))
		if cancel {
			v, err := ray.Get(ctx, cancelled)
			sum := Mix(Mix(d.key, 0), sent)
			d.t.cancelled(err, err == nil && v.Sum == sum && v.Bytes == rolloutSize, fmt.Sprintf("rl round %d cancelled rollout", round))
			firsts = append(firsts, read{cancelled, err, sum, round})
		}
		policy = want // keep the expected chain on track after a wrong value
	}
	again := make([]ray.Ref[ray.Blob], len(firsts)) // submitted together (see getEach)
	for j, f := range firsts {                      // the actors still live: a rollout lost with its node is rebuilt
		again[j] = d.f.reducer.Options(d.rereadOpts()...).Remote(ctx, f.ref)
	}
	avs, aerrs := getEach(ctx, again)
	for j, f := range firsts {
		v, err := avs[j], aerrs[j]
		d.t.reread(f.err, err, err == nil && v.Sum == f.sum+rolloutSize, fmt.Sprintf("rl round %d cancelled rollout", f.round)) // the reducer adds the size
	}
	// Each actor's state counts the rollouts it ran: every round's, and on
	// actor 0 the cancelled ones that returned a value, perhaps those
	// cancelled otherwise. A restarted actor's state is what checkpoint and
	// replay rebuilt: with replay nothing is lost (but a call may run again,
	// as Ray's retries allow: no upper bound); without, the rollouts since
	// its checkpoint are lost, as Ray's semantics allow: nothing to check.
	ran, maybe := uint64(0), uint64(0)
	for _, f := range firsts {
		if f.err == nil {
			ran++
		} else {
			maybe++
		}
	}
	states := make([]ray.Ref[[2]uint64], len(actors)) // asked of every actor, then read together (getEach)
	for a, h := range actors {
		states[a] = d.f.simState.Options(ray.Name("simulator-state"), ray.MaxRetries(3)).Remote(ctx, h)
	}
	svs, serrs := getEach(ctx, states)
	for a := range actors {
		st, err := svs[a], serrs[a]
		if err != nil {
			d.t.fail(err)
			continue
		}
		lo := uint64(p.Rounds * max(p.RolloutsPerActor, 1))
		if a == 0 {
			lo += ran
		}
		hi := lo
		if a == 0 {
			hi += maybe
		}
		what := fmt.Sprintf("rl simulator %d: %d rollouts in its state, want %d..%d", a, st[0], lo, hi)
		switch restarted := st[1] != 0; {
		case !restarted:
			d.t.verify(st[0] >= lo && st[0] <= hi, what)
		case p.Replay && p.CheckpointEvery == 0:
			// The log holds every rollout since the creation: a copy of
			// one (a retry, a rebuild of its lost result) is answered
			// with the replayed run's result, never run again.
			d.t.verify(st[0] >= lo && st[0] <= hi, what+" (restarted, replayed: each once)")
		case p.Replay:
			// A checkpoint trims the log: a rollout it covers whose
			// published result was lost since is rebuilt by running it
			// again, as Ray re-executes an actor task for its object.
			d.t.verify(st[0] >= lo, what+" or more (restarted, replayed since a checkpoint)")
		}
	}
	for _, h := range actors {
		if err := ray.Kill(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

func (d *driver) paramServer(ctx context.Context, p *scenarios.ParameterServerParams) error {
	servers := make([]ray.ActorHandle[paramShard], p.Servers)
	ids := make([]uint64, p.Servers)
	size := p.ShardSize.Sample(d.rng)
	for s := range servers {
		servers[s] = d.f.ps.Options(ray.Name("param-shard")).New(ctx, size)
		ids[s] = uint64(servers[s].ID())
	}
	workers := make([]ray.Ref[int64], p.Workers)
	for w := range workers {
		a := psArgs{Worker: Mix(d.key, uint64(w)), Iterations: p.Iterations, Servers: ids, Duration: int64(p.Duration.Sample(d.rng)), Size: size}
		if !p.Duration.IsConstant() { // a draw for every iteration's compute step
			a.Durations = make([]int64, p.Iterations)
			for it := range a.Durations {
				a.Durations[it] = int64(p.Duration.Sample(d.rng))
			}
		}
		workers[w] = d.f.psWorker.Options(d.opts(0, "ps-worker")...).Remote(ctx, a)
	}
	done, err := ray.GetAll(ctx, workers, -1)
	if err != nil {
		return err
	}
	for w, v := range done { // the iterations whose pulls and acks were right
		d.t.check(v == int64(p.Iterations), fmt.Sprintf("parameter-server worker %d: %d of %d iterations right", w, v, p.Iterations))
	}
	for s, h := range servers {
		b, err := ray.Get(ctx, d.f.pull.Remote(ctx, h))
		if err != nil {
			return err
		}
		var want uint64
		for w := 0; w < p.Workers; w++ {
			for it := 0; it < p.Iterations; it++ {
				want += psGrad(Mix(d.key, uint64(w)), it, s)
			}
		}
		d.t.check(b.Sum == want && b.Bytes == size, fmt.Sprintf("parameter shard %d", s))
		if err := ray.Kill(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// actorCalls runs actor-calls (scenarios.ActorCallsParams): the driver
// makes the actors, starts the caller tasks, makes its own calls, then
// reads every call's verdict, each caller's, and each actor's audit.
func (d *driver) actorCalls(ctx context.Context, p *scenarios.ActorCallsParams) error {
	// The actors live away from the driver's node where another node
	// is up (soft affinity: elsewhere once it is gone), so that a node's
	// death, which the fault search never deals the drivers' nodes, can
	// meet them.
	nodes, err := ray.Nodes(ctx)
	if err != nil {
		return err
	}
	var away []transport.NodeID
	for _, n := range nodes {
		if n.Alive && n.ID != ray.NodeOf(ctx) {
			away = append(away, n.ID)
		}
	}
	actors := make([]ray.ActorHandle[sequencer], p.Actors)
	ids := make([]uint64, p.Actors)
	for a := range actors {
		// Restartable, and its calls retried, as rl's simulators: a call
		// in flight at a death runs again on the next instance.
		place := ray.Spread()
		if len(away) > 0 {
			place = ray.NodeAffinity(away[(a+d.k)%len(away)], true)
		}
		actors[a] = d.f.seq.Options(ray.Name("sequencer"), ray.MaxRestarts(SequencerRestarts), place).New(ctx, uint64(a))
		ids[a] = uint64(actors[a].ID())
	}
	dur := p.Duration.Sample(d.rng)
	callers := make([]ray.Ref[[]string], p.Callers)
	for c := range callers {
		a := seqCallerArgs{Caller: uint64(c + 1), Actors: ids, Calls: p.Calls, Duration: int64(dur)}
		if g := d.arrivalGaps(p.Calls); g != nil {
			a.Gaps = g
		}
		// Away from the driver's node too, and from the actors' where
		// there are nodes enough: a caller's death while its actor lives
		// retries it, and its calls come again to the same instance
		// (duplicates, which the instance must not run).
		place := ray.Spread()
		if len(away) > 0 {
			place = ray.NodeAffinity(away[(p.Actors+c+d.k)%len(away)], true)
		}
		callers[c] = d.f.seqCaller.Options(append(d.opts(0, "sequencer-caller"), place)...).Remote(ctx, a)
	}
	refs, err := d.f.seqCalls(ctx, actors, 0, p.Calls, dur, func(i int) error { return d.gap(ctx, i == 0) })
	if err != nil {
		return err
	}
	vs, errs := getEach(ctx, refs)
	for i, v := range vs {
		if err := errs[i]; err != nil {
			d.t.fail(err)
			continue
		}
		d.t.check(v == "", orderWhat(v, fmt.Sprintf("actor-calls driver call %d to sequencer %d", i/len(actors), i%len(actors))))
	}
	bads, errs := getEach(ctx, callers)
	for c, bad := range bads {
		if err := errs[c]; err != nil {
			d.t.fail(err)
			continue
		}
		d.t.check(len(bad) == 0, orderWhat(strings.Join(bad, "; "), fmt.Sprintf("actor-calls caller %d", c+1)))
	}
	// Every call is answered now: each actor's audit sees them all.
	audits := make([]ray.Ref[string], len(actors))
	for a, h := range actors {
		audits[a] = d.f.audit.Options(ray.Name("sequencer-audit"), ray.MaxRetries(SequencerRetries)).Remote(ctx, h)
	}
	avs, errs := getEach(ctx, audits)
	for a, v := range avs {
		if err := errs[a]; err != nil {
			d.t.fail(err)
			continue
		}
		d.t.check(v == "", orderWhat(v, fmt.Sprintf("actor-calls sequencer %d audit", a)))
	}
	for _, h := range actors {
		if err := ray.Kill(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// orderWhat names a checked verdict: the violation if there is one.
func orderWhat(bad, what string) string {
	if bad == "" {
		return what
	}
	return what + ": " + bad
}

// seqCalls makes calls rounds of calls as caller, one to every actor each
// round, gap(i) before round i, without waiting for any result.
func (f *Funcs) seqCalls(ctx context.Context, actors []ray.ActorHandle[sequencer], caller uint64, calls int, dur time.Duration, gap func(int) error) ([]ray.Ref[string], error) {
	refs := make([]ray.Ref[string], 0, calls*len(actors))
	for i := range calls {
		if err := gap(i); err != nil {
			return nil, err
		}
		for _, h := range actors {
			refs = append(refs, f.step.Options(ray.Duration(dur), ray.Name("sequencer-step"), ray.MaxRetries(SequencerRetries)).Remote(ctx, h, caller, uint64(i)))
		}
	}
	return refs, nil
}

// arrivalGaps draws n gaps of the entry's arrival (nil for a burst), for
// a caller task to space its calls as the driver spaces its own.
func (d *driver) arrivalGaps(n int) []int64 {
	a := d.w.Arrival
	if a.Rate <= 0 || (a.Kind != scenarios.Steady && a.Kind != scenarios.Poisson) {
		return nil
	}
	rate := a.Rate / float64(d.n)
	gaps := make([]int64, n)
	for i := 1; i < n; i++ {
		f := float64(time.Second) / rate
		if a.Kind == scenarios.Poisson {
			f = d.rng.ExpFloat64() / rate * float64(time.Second)
		}
		gaps[i] = int64(min(f, float64(maxGap)))
	}
	return gaps
}

var _ = transport.TaskID(0)
var _ = time.Second
