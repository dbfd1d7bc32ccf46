// Package es is evolution strategies (Salimans et al. 2017, the Ray
// paper's §5.3 workload) training a small policy on Pendulum, written
// against raysim's ray API: simulator actors run rollouts of perturbed
// policies and a learner (the driver) aggregates their returns into a
// gradient step. It runs in the simulator (ray.NewSim) and over loopback
// TCP (ray.NewTCP) unchanged.
package es

import "math"

// Pendulum is OpenAI Gym's Pendulum-v0, from its physics: a pole of mass
// m and length l hangs from a motor that applies a torque u in [-2, 2];
// the state is the angle th (0 = upright) and angular velocity thdot.
// Each step of dt = 0.05 s integrates
//
//	thdot' = thdot + (3g/(2l) sin(th) + 3/(m l²) u) dt,  clipped to [-8, 8]
//	th'    = th + thdot' dt
//
// (Pendulum-v1's order: v0 moved th by the unclipped thdot', clipping
// it after) and costs th² + 0.1 thdot² + 0.001 u² (th normalized to
// [-π, π]). An
// episode is 200 steps from th ~ U(-π, π), thdot ~ U(-1, 1); the
// observation is (cos th, sin th, thdot).
type Pendulum struct {
	Th, ThDot float64
	Steps     int
}

// Pendulum-v0's constants.
const (
	MaxSpeed   = 8.0
	MaxTorque  = 2.0
	Dt         = 0.05
	G          = 10.0
	Mass       = 1.0
	Length     = 1.0
	EpisodeLen = 200
)

// Reset starts an episode from (th, thdot) = (a·π, b) with a, b in [-1, 1].
func (p *Pendulum) Reset(a, b float64) {
	p.Th, p.ThDot, p.Steps = a*math.Pi, b, 0
}

// Obs is the observation (cos th, sin th, thdot).
func (p *Pendulum) Obs() [3]float64 {
	return [3]float64{math.Cos(p.Th), math.Sin(p.Th), p.ThDot}
}

// Step applies torque u and returns the reward and whether the episode is over.
func (p *Pendulum) Step(u float64) (reward float64, done bool) {
	u = clip(u, -MaxTorque, MaxTorque)
	th := angleNormalize(p.Th)
	cost := th*th + 0.1*p.ThDot*p.ThDot + 0.001*u*u
	p.ThDot = clip(p.ThDot+(3*G/(2*Length)*math.Sin(p.Th)+3/(Mass*Length*Length)*u)*Dt, -MaxSpeed, MaxSpeed)
	p.Th += p.ThDot * Dt
	p.Steps++
	return -cost, p.Steps >= EpisodeLen
}

func clip(x, lo, hi float64) float64 { return math.Min(math.Max(x, lo), hi) }

func angleNormalize(x float64) float64 {
	return math.Mod(math.Mod(x+math.Pi, 2*math.Pi)+2*math.Pi, 2*math.Pi) - math.Pi
}
