// Package worker runs user code — tasks, actor methods, drivers — for a
// raylet. A worker is a long-lived coroutine (netsim) or goroutine (TCP)
// started through Env.Go that takes job after job: reusing it costs a
// coroutine switch where a fresh one per task would cost a new coroutine.
// The raylet decides what runs when (resources, ordering); the pool only
// provides the execution contexts.
package worker

import "raysim/runtime/transport"

// Job is a unit of blocking user code. Run executes off the loop; Done runs
// on the loop right after, with the worker already parked for the next job.
type Job interface {
	Run()
	Done()
}

// Pool is a set of worker coroutines of one node.
type Pool struct {
	env     transport.Env
	idle    []*worker
	started int
}

type worker struct {
	pool   *Pool
	job    Job          // the job to run next
	done   Job          // the job just run, for park to finish
	wake   func()       // resumes the parked worker
	parkFn func(func()) // park, bound once: Await costs no closure per job
}

// New returns an empty pool; workers start on demand and are kept.
func New(env transport.Env) *Pool { return &Pool{env: env} }

// Started is the number of workers ever started (idle or busy).
func (p *Pool) Started() int { return p.started }

// Idle is the number of parked workers.
func (p *Pool) Idle() int { return len(p.idle) }

// Submit runs j on an idle worker, or on a new one. Call it on the loop.
func (p *Pool) Submit(j Job) {
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		w.job = j
		wake := w.wake
		w.wake = nil
		wake()
		return
	}
	w := &worker{pool: p, job: j}
	w.parkFn = w.park
	p.started++
	p.env.Go(w.loop)
}

func (w *worker) loop() {
	for {
		j := w.job
		j.Run()
		w.job, w.done = nil, j
		w.pool.env.Await(w.parkFn)
	}
}

// park runs on the loop: the worker becomes idle, then the job it ran is
// finished (which may hand this very worker its next job).
func (w *worker) park(wake func()) {
	w.wake = wake
	w.pool.idle = append(w.pool.idle, w)
	j := w.done
	w.done = nil
	j.Done()
}
