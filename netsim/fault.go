package netsim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Faults. Every fault is callable at any time: from harness code between
// runs, from a Sim.At schedule, or from a node's handler or coroutine.

func (s *Sim) mustNode(op string, id NodeID) *Node {
	n := s.nodes[id]
	if n == nil {
		panic(fmt.Sprintf("netsim: %s(%d): unknown node", op, id))
	}
	return n
}

// Crash stops node id: its state is gone (handler dropped), its pending
// timers never fire, its coroutines are stopped (their Await never
// returns), deliveries and timers waiting behind a Charge or Pause are
// dropped, and messages to it — in flight now or sent later — are dropped
// ("crashed") until Restart; a message in flight at the crash is dropped
// even if the node restarts before it arrives (its connection died with the
// old incarnation). Messages the node had sent and that had left it stay in
// flight and are delivered, as on a real network; those that had not — sent
// after a Charge and waiting for its busy-until, or still being transmitted
// on a link of finite bandwidth — are dropped when they would have arrived
// (DropUnsent), and the links to and from the node are free again for its
// next incarnation. Crashing a crashed node does nothing.
//
// When called from a coroutine of the crashed node itself, Crash does not
// return: the coroutine unwinds at once.
func (s *Sim) Crash(id NodeID) { s.CrashAs(id, "") }

// The details of a node's stop and start on purpose (CrashAs, RestartAs:
// an autoscaler's termination and launch), by which analyses tell them
// from a fault's crash and restart.
const (
	DetailTerminated = "terminated"
	DetailLaunched   = "launched"
)

// CrashAs is Crash with the crash event's detail: why the node stops
// ("terminated": a node stopped on purpose, which analyses tell from a
// fault).
func (s *Sim) CrashAs(id NodeID, detail string) {
	n := s.mustNode("Crash", id)
	if !n.alive {
		return
	}
	n.alive = false
	n.handler = nil
	n.busyUntil = 0
	n.wakePending = false
	n.died = append(n.died, s.now)
	// Its connections die with it: the bytes it had queued or was still
	// transmitting are gone (dropped on arrival: see unsent), as are those
	// queued to it (dropped as crashed), so neither holds up the links of
	// its next incarnation. Messages that had left keep their times; the
	// next incarnation's may overtake them.
	for _, ls := range n.links {
		ls.txFree, ls.lastAt = 0, 0
		clear(ls.tx)
		ls.tx = ls.tx[:0]
	}
	s.emit(EvCrash, id, id, 0, nil, detail)
	var it item
	for n.dqLen() > 0 {
		n.dqPop(&it)
		s.dropStale(&it)
	}
	self := s.cur != nil && s.cur.node == n
	s.killCoros(n)
	if s.cur == nil {
		s.drainKills()
	} else if self {
		panic(stopSignal{})
	}
}

// Restart starts a new incarnation of node id: the factory builds fresh
// state and the node gets a new random stream (Seed, id, incarnation).
// Restarting a live node crashes it first; the old incarnation's
// coroutines unwind (with the node down) before the new one starts. Called
// by the node itself, the new incarnation starts once the calling code is
// done: from one of its coroutines Restart does not return (as Crash), and
// the rest of a handler or timer that calls it runs with the node down.
func (s *Sim) Restart(id NodeID) { s.RestartAs(id, "") }

// RestartAs is Restart with the restart event's detail ("launched": a
// node started on purpose, which analyses tell from a fault's restart).
func (s *Sim) RestartAs(id NodeID, detail string) {
	n := s.mustNode("Restart", id)
	n.why = detail // the restart event's, whichever path starts it
	c := s.cur
	self := (c != nil && c.node == n) || (c == nil && s.inItem == n)
	if n.restarting && self {
		return // it starts once its running code is done (runNodeItem)
	}
	if n.alive {
		n.restarting = self
		s.Crash(id) // (does not return to a coroutine of n)
		if n.restarting {
			return
		}
	}
	if s.cur != nil {
		// From a coroutine (of another node): Crash only queued the old
		// incarnation's coroutines; they unwind now, with the node down.
		s.drainKills()
	}
	n.start(true)
}

// PartitionID names one Partition, for HealPartition.
type PartitionID uint64

// partition is one Partition call: node -> group index.
type partition struct {
	id     PartitionID
	groups map[NodeID]int
	detail string
}

// Partition cuts the network between groups, symmetrically: nodes in
// different groups cannot exchange messages (dropped at send time and on
// arrival at the destination, before any wait for a busy or paused node);
// nodes in no group are unaffected. It adds to existing partitions and cuts
// and returns the new partition's id: HealPartition(id) ends this one
// alone, Heal every one.
func (s *Sim) Partition(groups ...[]NodeID) PartitionID {
	p := make(map[NodeID]int)
	var b strings.Builder
	for gi, g := range groups {
		b.WriteByte('[')
		for i, id := range g {
			p[id] = gi
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatUint(uint64(id), 10))
		}
		b.WriteByte(']')
	}
	s.partSeq++
	s.parts = append(s.parts, partition{id: s.partSeq, groups: p, detail: b.String()})
	s.emit(EvPartition, 0, 0, 0, nil, b.String())
	return s.partSeq
}

// HealPartition ends partition id and no other (partitions made before or
// after it, and cuts, stay), and reports whether it was still in place
// (false once Heal or an earlier HealPartition removed it: then it does
// nothing, and logs nothing).
func (s *Sim) HealPartition(id PartitionID) bool {
	for i := range s.parts {
		if s.parts[i].id == id {
			detail := s.parts[i].detail
			s.parts = append(s.parts[:i], s.parts[i+1:]...)
			s.emit(EvHeal, 0, 0, 0, nil, detail)
			return true
		}
	}
	return false
}

// Cut drops every message from -> to (one way) until Heal.
func (s *Sim) Cut(from, to NodeID) {
	s.cuts[linkKey(from, to)] = struct{}{}
	s.emit(EvPartition, from, to, 0, nil, "cut")
}

// Heal removes every partition and cut.
func (s *Sim) Heal() {
	s.parts = nil
	clear(s.cuts)
	s.emit(EvHeal, 0, 0, 0, nil, "")
}

// blocked reports whether a partition or cut separates from -> to.
func (s *Sim) blocked(from, to NodeID) bool {
	if len(s.parts) == 0 && len(s.cuts) == 0 {
		return false
	}
	if _, ok := s.cuts[linkKey(from, to)]; ok {
		return true
	}
	for i := range s.parts {
		p := s.parts[i].groups
		ga, oka := p[from]
		gb, okb := p[to]
		if oka && okb && ga != gb {
			return true
		}
	}
	return false
}

// SetLink overrides the default link model (Config.Link) for from -> to.
// Messages already in flight keep their computed times.
func (s *Sim) SetLink(from, to NodeID, l Link) {
	ls := s.linkState(from, to)
	ls.override = l
	ls.hasLink = true
}

// Degradation is what a Degrade puts on top of a link's model: extra
// one-way delay and jitter, extra loss, duplicate and reorder probability
// (added to the link's), and a bandwidth cap (the lower of it and the
// link's; 0: no cap).
type Degradation struct {
	Extra     time.Duration
	Jitter    time.Duration
	Bandwidth float64 // bytes per second
	Loss      float64
	Duplicate float64
	Reorder   float64
}

// DegradationID names one Degrade or DegradeWith of one link, for
// RestoreDegradation.
type DegradationID uint64

// Degrade adds extra one-way delay and extra loss probability on top of the
// link model of from -> to, until Restore (see DegradeWith).
func (s *Sim) Degrade(from, to NodeID, extra time.Duration, loss float64) DegradationID {
	return s.DegradeWith(from, to, Degradation{Extra: extra, Loss: loss})
}

// DegradeWith puts d on top of the link model of from -> to, until Restore
// (replacing an earlier degradation of that link). It returns the
// degradation's id: RestoreDegradation(from, to, id) ends it only if no
// later degradation replaced it. If the link's bandwidth changes (a cap
// set, changed or lifted), the messages sent under a cap and not yet
// transmitted are re-timed to the new bandwidth (see retime).
func (s *Sim) DegradeWith(from, to NodeID, d Degradation) DegradationID {
	ls := s.linkState(from, to)
	d.Extra, d.Jitter, d.Bandwidth = max(d.Extra, 0), max(d.Jitter, 0), max(d.Bandwidth, 0)
	bw := s.bandwidth(ls)
	ls.deg = d
	s.degSeq++
	ls.degID = s.degSeq
	detail := "loss=" + strconv.FormatFloat(d.Loss, 'g', -1, 64)
	if d.Jitter > 0 {
		detail += " jitter=" + d.Jitter.String()
	}
	if d.Bandwidth > 0 {
		detail += " bandwidth=" + strconv.FormatFloat(d.Bandwidth, 'g', -1, 64) + "B/s"
	}
	if d.Duplicate > 0 {
		detail += " duplicate=" + strconv.FormatFloat(d.Duplicate, 'g', -1, 64)
	}
	if d.Reorder > 0 {
		detail += " reorder=" + strconv.FormatFloat(d.Reorder, 'g', -1, 64)
	}
	s.emit(EvDegrade, from, to, int64(d.Extra), nil, detail)
	if s.bandwidth(ls) != bw {
		s.retime(ls)
	}
	return ls.degID
}

// Restore removes the degradation of from -> to, whichever it is.
func (s *Sim) Restore(from, to NodeID) {
	ls := s.linkState(from, to)
	bw := s.bandwidth(ls)
	ls.deg = Degradation{}
	ls.degID = 0
	s.emit(EvDegrade, from, to, 0, nil, "restore")
	if s.bandwidth(ls) != bw {
		s.retime(ls)
	}
}

// RestoreDegradation removes degradation id of from -> to if it is still
// the link's (no later Degrade replaced it, no Restore removed it), and
// reports whether it was; otherwise it does nothing and logs nothing.
func (s *Sim) RestoreDegradation(from, to NodeID, id DegradationID) bool {
	ls := s.linkState(from, to)
	if id == 0 || ls.degID != id {
		return false
	}
	s.Restore(from, to)
	return true
}

// Pause stalls node id (a GC pause, a frozen VM) until Now()+d: nothing of
// it runs — deliveries, timers and coroutine resumes wait, in order — and
// nothing is lost. Messages to it keep arriving and queue.
func (s *Sim) Pause(id NodeID, d time.Duration) {
	n := s.mustNode("Pause", id)
	if d <= 0 || !n.alive {
		return
	}
	n.busyUntil = max(n.busyUntil, later(s.now, int64(d))) // saturated: see later
	s.emit(EvPause, id, id, int64(d), nil, "")
}

// SetSkew sets the offset added to node id's wall clock (Node.Now). It does
// not change when its timers fire (timers are durations, not deadlines),
// nor its monotonic clock (Node.Mono), which intervals are measured with.
func (s *Sim) SetSkew(id NodeID, d time.Duration) {
	n := s.mustNode("SetSkew", id)
	n.skew = d
	s.emit(EvSkew, id, id, int64(d), nil, "")
}

// Emit logs a harness or component event (usually EvCustom) into the event
// log and the digest.
func (s *Sim) Emit(kind EventKind, node NodeID, detail string) {
	s.emit(kind, node, node, 0, nil, detail)
}
