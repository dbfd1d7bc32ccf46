package runner

import (
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
	"raysim/traces"
)

// startTrace plugs the run's trace recorder (Options.Trace, or a digest-only
// one) into the cluster's event hooks, before the user's hooks. The run's
// digest is the recorder's.
func startTrace(o *Options, cfg *ray.Config, m *metrics) *traces.Recorder {
	rec := o.Trace
	if rec == nil {
		rec = traces.NewRecorder(nil)
	}
	if net := o.OnNetEvent; net != nil {
		cfg.OnNetEvent = func(ev *netsim.Event) { rec.Net(ev); net(ev) }
	} else {
		cfg.OnNetEvent = rec.Net
	}
	if user := m.onEvent; user != nil {
		m.onEvent = func(at time.Duration, ev *transport.Event) { rec.Runtime(at, ev); user(at, ev) }
	} else {
		m.onEvent = rec.Runtime
	}
	if o.UntilEvent > 0 {
		rec.StopAfter(o.UntilEvent)
	}
	return rec
}

// attachTrace lets the recorder stop the simulator (replay divergence,
// Options.UntilEvent) and stops the run at Options.Until.
func attachTrace(rec *traces.Recorder, sim *netsim.Sim, o *Options) {
	rec.OnStop(sim.Stop)
	if o.Until > 0 {
		sim.At(o.Until, rec.Stop)
	}
}
