package es

import (
	"math"
	"math/rand/v2"
)

// Hidden is the width of the policy's hidden layer.
const Hidden = 16

// NumParams is the size of the policy: 3 -> Hidden (tanh) -> 1 (tanh, scaled
// to the torque range).
const NumParams = 3*Hidden + Hidden + Hidden + 1

// Act evaluates the policy with parameters w on an observation.
func Act(w []float64, obs [3]float64) float64 {
	// layout: W1 (Hidden x 3), b1 (Hidden), W2 (Hidden), b2
	b1, w2, b2 := w[3*Hidden:4*Hidden], w[4*Hidden:5*Hidden], w[5*Hidden]
	out := b2
	for h := 0; h < Hidden; h++ {
		a := b1[h] + w[3*h]*obs[0] + w[3*h+1]*obs[1] + w[3*h+2]*obs[2]
		out += w2[h] * math.Tanh(a)
	}
	return MaxTorque * math.Tanh(out)
}

// Episode runs one episode of the policy from the start state drawn from
// seed and returns its total reward and the steps taken.
func Episode(w []float64, seed uint64) (float64, int) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var p Pendulum
	p.Reset(2*r.Float64()-1, 2*r.Float64()-1)
	total := 0.0
	for {
		rew, done := p.Step(Act(w, p.Obs()))
		total += rew
		if done {
			return total, p.Steps
		}
	}
}

// Noise fills eps with the standard normal perturbation of seed (the
// shared noise: learner and workers derive it from the seed alone).
func Noise(seed uint64, eps []float64) {
	r := rand.New(rand.NewPCG(seed, 0xda942042e4dd58b5))
	for i := range eps {
		eps[i] = r.NormFloat64()
	}
}

// InitParams draws the initial policy.
func InitParams(seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	w := make([]float64, NumParams)
	for i := range w {
		w[i] = 0.5 * r.NormFloat64()
	}
	w[5*Hidden] = 0
	return w
}
