package es

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"raysim/runtime/ray"
)

// Config is an ES run.
type Config struct {
	Workers        int           // simulator actors (one CPU each)
	Nodes          int           // actors are spread round robin over this many nodes
	PairsPerWorker int           // antithetic perturbation pairs per worker per iteration
	Iterations     int           // learner steps
	Sigma          float64       // perturbation scale (default 0.1)
	LR             float64       // Adam step size (default 0.05)
	Seed           uint64        // initial policy, noise and episode starts
	StepCost       time.Duration // declared CPU per environment step (ray.Compute; for the simulator; 0: none)
	EvalEpisodes   int           // episodes of the unperturbed policy per evaluation (default 10)
	// evaluate, if set, replaces Evaluate (tests: an evaluation that takes
	// virtual time, which training time must not count).
	evaluate func(ctx context.Context, w []float64) float64
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Nodes <= 0 {
		c.Nodes = 1
	}
	if c.PairsPerWorker <= 0 {
		c.PairsPerWorker = 1
	}
	if c.Sigma <= 0 {
		c.Sigma = 0.1
	}
	if c.LR <= 0 {
		c.LR = 0.05
	}
	if c.EvalEpisodes <= 0 {
		c.EvalEpisodes = 10
	}
}

// Worker is a simulator actor: it runs episodes of perturbed policies.
type Worker struct {
	StepCost time.Duration
}

// RolloutReq asks a worker to evaluate antithetic pairs θ ± σε(seed).
type RolloutReq struct {
	Params []float64 `json:"params"`
	Sigma  float64   `json:"sigma"`
	Noise  []uint64  `json:"noise"`  // one noise seed per pair
	Starts []uint64  `json:"starts"` // one episode-start seed per pair
}

// RolloutResp holds each pair's two returns and the steps simulated.
type RolloutResp struct {
	Pos   []float64 `json:"pos"`
	Neg   []float64 `json:"neg"`
	Steps int       `json:"steps"`
}

// Program is ES's remote code, registered in a ray.Registry.
type Program struct {
	worker  *ray.ActorClass[Worker]
	rollout *ray.ActorMethod[Worker, RolloutResp]
}

// Register adds ES's actor class to reg.
func Register(reg *ray.Registry) *Program {
	p := &Program{}
	p.worker = ray.RegisterActor1(reg, "es.Worker", func(ctx context.Context, stepCost time.Duration) (*Worker, error) {
		return &Worker{StepCost: stepCost}, nil
	})
	p.rollout = ray.Method1(p.worker, "rollout", func(ctx context.Context, w *Worker, req RolloutReq) (RolloutResp, error) {
		return w.Rollout(ctx, req)
	})
	return p
}

// Rollout evaluates the requested pairs.
func (w *Worker) Rollout(ctx context.Context, req RolloutReq) (RolloutResp, error) {
	if len(req.Noise) != len(req.Starts) || len(req.Params) != NumParams {
		return RolloutResp{}, fmt.Errorf("es: bad rollout request (%d params, %d noise, %d starts)", len(req.Params), len(req.Noise), len(req.Starts))
	}
	var resp RolloutResp
	eps := make([]float64, NumParams)
	th := make([]float64, NumParams)
	for i, ns := range req.Noise {
		Noise(ns, eps)
		for sign := 1.0; sign >= -1; sign -= 2 {
			for k := range th {
				th[k] = req.Params[k] + sign*req.Sigma*eps[k]
			}
			r, n := Episode(th, req.Starts[i])
			resp.Steps += n
			if sign > 0 {
				resp.Pos = append(resp.Pos, r)
			} else {
				resp.Neg = append(resp.Neg, r)
			}
		}
	}
	if w.StepCost > 0 {
		if err := ray.Compute(ctx, time.Duration(resp.Steps)*w.StepCost); err != nil {
			return RolloutResp{}, err
		}
	}
	return resp, nil
}

// Iter is one learner step's report.
type Iter struct {
	N          int     `json:"iteration"`
	MeanReward float64 `json:"mean_reward"` // over the iteration's perturbed episodes
	EvalReward float64 `json:"eval_reward"` // the unperturbed policy after the step, on fixed starts
	Steps      int     `json:"steps"`       // environment steps so far
	Elapsed    float64 `json:"elapsed_s"`   // since training began (virtual in the simulator)
}

// Stats is a training run's outcome.
type Stats struct {
	Iters          []Iter    `json:"iterations"`
	InitialEval    float64   `json:"initial_eval_reward"`
	Steps          int       `json:"steps"`
	Seconds        float64   `json:"seconds"` // training time (virtual in the simulator)
	StepsPerSecond float64   `json:"timesteps_per_second"`
	Params         []float64 `json:"-"`
}

// Evaluate is the mean return of policy w over n fixed episode starts.
func Evaluate(w []float64, n int) float64 {
	t := 0.0
	for i := 0; i < n; i++ {
		r, _ := Episode(w, 1_000_000+uint64(i))
		t += r
	}
	return t / float64(n)
}

func mix(a, b, c uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b*0xbf58476d1ce4e5b9 ^ c*0x94d049bb133111eb
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	return x ^ x>>29
}

// Train runs ES from a driver: it creates the workers, then per iteration
// sends every worker its pairs, gathers the returns and takes a step.
func (p *Program) Train(ctx context.Context, cfg Config) (Stats, error) {
	cfg.defaults()
	var st Stats
	w := InitParams(cfg.Seed)
	st.InitialEval = Evaluate(w, cfg.EvalEpisodes)
	workers := make([]ray.ActorHandle[Worker], cfg.Workers)
	for i := range workers {
		workers[i] = p.worker.Options(ray.CPUs(1), ray.NodeAffinity(ray.RayletID(i%cfg.Nodes), false)).New(ctx, cfg.StepCost)
	}
	// Wait until every worker lives, off the clock.
	warm := make([]ray.Ref[RolloutResp], len(workers))
	for i, h := range workers {
		warm[i] = p.rollout.Remote(ctx, h, RolloutReq{Params: w, Sigma: cfg.Sigma})
	}
	if _, err := ray.GetAll(ctx, warm, -1); err != nil {
		return st, err
	}
	opt := newAdam(NumParams, cfg.LR)
	eps := make([]float64, NumParams)
	grad := make([]float64, NumParams)
	start := ray.Mono(ctx)
	var evalTime time.Duration // excluded from the training time
	for it := 0; it < cfg.Iterations; it++ {
		refs := make([]ray.Ref[RolloutResp], len(workers))
		var noise []uint64
		for i, h := range workers {
			req := RolloutReq{Params: w, Sigma: cfg.Sigma}
			for j := 0; j < cfg.PairsPerWorker; j++ {
				k := uint64(i*cfg.PairsPerWorker + j)
				req.Noise = append(req.Noise, mix(cfg.Seed, uint64(it)+1, 2*k+1))
				req.Starts = append(req.Starts, mix(cfg.Seed, uint64(it)+1, 2*k+2))
			}
			noise = append(noise, req.Noise...)
			refs[i] = p.rollout.Remote(ctx, h, req)
		}
		resps, err := ray.GetAll(ctx, refs, -1)
		if err != nil {
			return st, err
		}
		var pos, neg []float64
		for _, r := range resps {
			pos, neg = append(pos, r.Pos...), append(neg, r.Neg...)
			st.Steps += r.Steps
		}
		if len(pos) != len(noise) || len(neg) != len(noise) {
			return st, fmt.Errorf("es: iteration %d: %d/%d returns for %d pairs", it, len(pos), len(neg), len(noise))
		}
		ranks := centeredRanks(append(slices.Clone(pos), neg...))
		clear(grad)
		for i, ns := range noise {
			Noise(ns, eps)
			d := ranks[i] - ranks[len(noise)+i]
			for k := range grad {
				grad[k] += d * eps[k]
			}
		}
		for k := range grad {
			// ascent direction, as a loss gradient for Adam (which descends)
			grad[k] = -grad[k] / (float64(len(noise)) * cfg.Sigma)
		}
		opt.step(w, grad)
		mean := 0.0
		for i := range pos {
			mean += pos[i] + neg[i]
		}
		// The learner's evaluation episodes are not training: their steps
		// are not counted, and neither is their time (on TCP they are real
		// compute on the driver; in netsim they take no virtual time).
		evalStart := ray.Mono(ctx)
		var eval float64
		if cfg.evaluate != nil {
			eval = cfg.evaluate(ctx, w)
		} else {
			eval = Evaluate(w, cfg.EvalEpisodes)
		}
		evalTime += ray.Mono(ctx).Sub(evalStart)
		st.Iters = append(st.Iters, Iter{N: it + 1, MeanReward: mean / float64(2*len(pos)),
			EvalReward: eval, Steps: st.Steps, Elapsed: (ray.Mono(ctx).Sub(start) - evalTime).Seconds()})
	}
	st.Seconds = (ray.Mono(ctx).Sub(start) - evalTime).Seconds()
	if st.Seconds > 0 {
		st.StepsPerSecond = float64(st.Steps) / st.Seconds
	}
	st.Params = w
	return st, nil
}

// centeredRanks maps returns to their ranks scaled into [-0.5, 0.5] (ties
// broken by position, so the result is deterministic).
func centeredRanks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, len(x))
	if len(x) < 2 {
		return out
	}
	for r, i := range idx {
		out[i] = float64(r)/float64(len(x)-1) - 0.5
	}
	return out
}

// adam is the Adam optimizer (Kingma and Ba), as OpenAI's ES uses.
type adam struct {
	lr, b1, b2, eps float64
	m, v            []float64
	t               int
}

func newAdam(n int, lr float64) *adam {
	return &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8, m: make([]float64, n), v: make([]float64, n)}
}

func (a *adam) step(w, g []float64) {
	a.t++
	c := a.lr * math.Sqrt(1-math.Pow(a.b2, float64(a.t))) / (1 - math.Pow(a.b1, float64(a.t)))
	for i := range w {
		a.m[i] = a.b1*a.m[i] + (1-a.b1)*g[i]
		a.v[i] = a.b2*a.v[i] + (1-a.b2)*g[i]*g[i]
		w[i] -= c * a.m[i] / (math.Sqrt(a.v[i]) + a.eps)
	}
}
