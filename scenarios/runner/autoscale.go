package runner

import (
	"fmt"
	"time"

	"raysim/netsim"
	"raysim/runtime/ray"
	"raysim/runtime/scheduler"
	"raysim/runtime/transport"
	"raysim/scenarios"
)

// autoscaler is the runner's model of Ray's autoscaler for the groups
// with autoscale (scenarios.Autoscale): every AutoscalePeriod of virtual
// time it reads the demand the cluster cannot meet and launches nodes of
// those groups, and terminates their nodes idle past their timeout. The
// demand is the tasks held as infeasible, the unplaced bundles of pending
// placement groups, and the raylets' queued backlog that cannot start
// soon and fits no node's free resources (backlog): the raylets re-spill
// such tasks onto nodes with room, the launched ones included. It reads
// the global scheduler's views and the raylets' queues as Ray's
// autoscaler reads the GCS's resource demand reports (the raylets' load,
// queued tasks included), taking no virtual time and sending no message
// of its own; its launches and terminations are logged as custom events
// ("autoscaler ...") in the trace.
type autoscaler struct {
	s     *scenarios.Scenario
	c     *ray.Sim
	pools []*pool
}

// pool is one autoscaled group.
type pool struct {
	name      string
	cfg       scenarios.Autoscale
	nodes     []int               // the group's node indices
	shape     transport.Resources // one node's resources
	booting   map[int]bool        // launched, not registered yet
	launched  map[int]time.Duration
	idleSince map[int]time.Duration
}

// newAutoscaler returns the autoscaler of s's autoscaled groups, or nil if
// it has none.
func newAutoscaler(s *scenarios.Scenario, c *ray.Sim) *autoscaler {
	a := &autoscaler{s: s, c: c}
	for _, g := range s.Cluster.Groups {
		if g.Autoscale == nil {
			continue
		}
		p := &pool{name: g.Name, cfg: *g.Autoscale, booting: map[int]bool{}, launched: map[int]time.Duration{}, idleSince: map[int]time.Duration{},
			shape: transport.MakeResources(g.CPUs, g.GPUs, g.Resources)}
		for i, n := range s.Cluster.Nodes {
			if n.Group == g.Name {
				p.nodes = append(p.nodes, i)
			}
		}
		a.pools = append(a.pools, p)
	}
	if len(a.pools) == 0 {
		return nil
	}
	return a
}

// start schedules the autoscaler's rounds.
func (a *autoscaler) start() {
	sim := a.c.Netsim()
	var round func()
	round = func() {
		a.round()
		sim.After(scenarios.AutoscalePeriod, round)
	}
	sim.After(scenarios.AutoscalePeriod, round)
}

func (a *autoscaler) up(i int) bool {
	n := a.c.Netsim().Node(netsim.NodeID(ray.RayletID(i)))
	return n != nil && n.Alive()
}

// holdsBundle reports whether a node's resources include a placement
// group's bundle (its renamed resources): such a node is in use, whether
// the group's tasks run or not, as Ray keeps it.
func holdsBundle(total transport.Resources) bool {
	for _, q := range total.Custom {
		if transport.IsBundleResource(q.Name) {
			return true
		}
	}
	return false
}

// request is one demand the nodes up cannot meet: a task held as
// infeasible, an unplaced bundle of a pending placement group, or a task
// of a node's backlog (see backlog); alone
// (a STRICT_SPREAD group's bundles) it takes a node of its own.
type request struct {
	res   transport.Resources
	alone bool
}

// round launches nodes for the unmet demand and terminates idle ones.
func (a *autoscaler) round() {
	g := a.c.Global()
	if g == nil {
		return // the global scheduler is down: no demand to read
	}
	idle := map[transport.NodeID]bool{} // registered and alive, by the scheduler's view: idle or not
	for _, l := range g.Loads() {
		if l.Dead {
			continue
		}
		idle[l.Node] = l.QueueLen == 0 && l.Available.CPU == l.Total.CPU && l.Available.GPU == l.Total.GPU &&
			transport.Resources{Custom: l.Total.Custom}.Fits(transport.Resources{Custom: l.Available.Custom}) &&
			!holdsBundle(l.Total)
	}
	// The demand: tasks held as infeasible, the unplaced bundles of
	// placement groups, and the backlog queued on the nodes up (Ray's
	// autoscaler counts all three: its raylets report their queued
	// resource load).
	var demand []request
	for _, spec := range g.Infeasible() {
		// What placing it needs: a default actor's CPU too (it holds
		// none, but a node with no CPU cannot take it).
		demand = append(demand, request{res: spec.Placement()})
	}
	for _, gr := range g.Groups() {
		if gr.Removed {
			continue
		}
		for b, at := range gr.Nodes {
			if at == 0 && b < len(gr.Bundles) {
				demand = append(demand, request{res: gr.Bundles[b], alone: gr.Strategy == transport.GroupStrictSpread})
			}
		}
	}
	demand = append(demand, a.backlog(g.Loads())...)
	taken := make([]bool, len(demand))
	now := a.c.Netsim().Now()
	for _, p := range a.pools {
		// The demand this group's nodes could meet, packed first fit onto
		// nodes of its shape.
		var bins []transport.Resources
		requests := 0
		for j, req := range demand {
			if taken[j] || !req.res.Fits(p.shape) {
				continue
			}
			taken[j] = true
			requests++
			placed := false
			for b := range bins {
				if !req.alone && req.res.Fits(bins[b]) {
					bins[b] = bins[b].Sub(req.res)
					placed = true
					break
				}
			}
			if !placed {
				bins = append(bins, p.shape.Sub(req.res))
			}
		}
		need := len(bins)
		up := 0
		for _, i := range p.nodes {
			_, known := idle[transport.NodeID(ray.RayletID(i))]
			switch {
			case a.up(i) && known:
				up++
				delete(p.booting, i)
			case a.up(i): // started, not registered yet: still booting for the demand
				p.booting[i] = true
			case p.booting[i] && now >= p.launched[i]+p.cfg.Boot:
				delete(p.booting, i) // started and down again (a fault): launchable again
			}
		}
		launch := need - len(p.booting)
		if min := p.cfg.Min - up - len(p.booting); min > launch { // a node of the floor that died
			launch = min
		}
		for _, i := range p.nodes {
			if launch <= 0 {
				break
			}
			if a.up(i) || p.booting[i] {
				continue
			}
			p.booting[i] = true
			p.launched[i] = now
			delete(p.idleSince, i)
			launch--
			a.log(i, fmt.Sprintf("launch: %d %s needed for %d %s; joins in %s", need, plural(need, "node", "nodes"),
				requests, plural(requests, "request", "requests"), scenarios.FormatDuration(p.cfg.Boot)))
			a.c.Netsim().After(p.cfg.Boot, func() {
				if !a.up(i) { // (a fault may have restarted it meanwhile)
					a.c.Launch(i)
				}
			})
		}
		// Idle nodes above the floor, in node order.
		for _, i := range p.nodes {
			if !a.up(i) || up <= p.cfg.Min {
				delete(p.idleSince, i)
				continue
			}
			r := a.c.Raylet(i)
			// Busy: a task queued or running, a resource in use, an actor,
			// or a primary copy in its store (its stop would lose the only
			// copy: Ray keeps a node holding objects, too).
			if !idle[transport.NodeID(ray.RayletID(i))] || r == nil || len(r.HostedActors()) > 0 || r.Store().Primaries() > 0 {
				delete(p.idleSince, i)
				continue
			}
			since, ok := p.idleSince[i]
			if !ok {
				p.idleSince[i] = now
				continue
			}
			if now-since >= p.cfg.IdleTimeout {
				a.log(i, fmt.Sprintf("terminate: idle for %s", scenarios.FormatDuration(now-since)))
				a.c.Terminate(i)
				delete(p.idleSince, i)
				up--
			}
		}
	}
}

// backlog is the queued demand of the nodes up that the cluster cannot
// meet soon: each node's tasks queued beyond its next wave that another
// node could run (node.Raylet.Backlog), less what fits the resources free
// on the live nodes (loads, the scheduler's view; packed first fit, as
// Ray's autoscaler packs demand onto the nodes it has before it launches
// any). Raylets re-spill such tasks to nodes with room (a launched node
// once it registers), so a node launched for them gets them; the rest
// fits nowhere now, or on a node just registered, which the next round
// sees with room, so a backlog being moved launches nothing more.
func (a *autoscaler) backlog(loads []scheduler.NodeLoad) []request {
	var room []transport.Resources
	for _, l := range loads {
		if !l.Dead {
			room = append(room, l.Available)
		}
	}
	var out []request
	for i := range a.s.Cluster.Nodes {
		if !a.up(i) {
			continue
		}
		r := a.c.Raylet(i)
		if r == nil {
			continue
		}
	next:
		for _, res := range r.Backlog() {
			for b := range room {
				if res.Fits(room[b]) {
					room[b] = room[b].Sub(res)
					continue next
				}
			}
			out = append(out, request{res: res})
		}
	}
	return out
}

// log records an autoscaler decision about node i in the trace.
func (a *autoscaler) log(i int, what string) {
	a.c.Netsim().Emit(netsim.EvCustom, netsim.NodeID(ray.RayletID(i)),
		fmt.Sprintf("autoscaler %s: %s", a.s.Cluster.Nodes[i].Name, what))
}
