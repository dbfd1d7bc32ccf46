package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Fault kinds: the action key of a faults entry.
const (
	KillNode       = "kill_node"
	RestartNode    = "restart_node"
	Partition      = "partition"
	Heal           = "heal"
	DegradeLink    = "degrade_link"
	PauseNode      = "pause_node"
	SkewClock      = "skew_clock"
	KillGCSReplica = "kill_gcs_replica"
	// RestartGCSReplica brings a killed replica back: it rejoins its
	// chain at the tail from a snapshot.
	RestartGCSReplica = "restart_gcs_replica"
	KillActor         = "kill_actor"
	TaskErrors        = "task_errors"
	Random            = "random"
)

// FaultKinds lists the fault actions in documentation order.
var FaultKinds = []string{KillNode, RestartNode, Partition, Heal, DegradeLink, PauseNode, SkewClock, KillGCSReplica, RestartGCSReplica, KillActor, TaskErrors, Random}

// Fault is one entry of faults: at time At, do Kind. Which other fields are
// set depends on Kind:
//
//	kill_node, restart_node  Node
//	pause_node               Node, For (> 0): the node stops processing, then resumes
//	partition                Groups (resolved node names), For (0 = until a heal)
//	heal                     nothing: ends every partition and link degradation
//	degrade_link             Link, For (0 = until a heal)
//	skew_clock               Node, Offset (may be negative)
//	kill_gcs_replica         Replica (flat index, see GCSConfig)
//	restart_gcs_replica      Replica (flat index)
//	kill_actor               Actor (a name) or ActorIndex (>= 0; -1 when Actor is set)
//	task_errors              Errors, For (0 = until the run ends)
//	random                   Random; At is Random.From
type Fault struct {
	At         time.Duration
	Kind       string
	Node       string
	Groups     [][]string
	For        time.Duration
	Link       *Link // degrade_link: From/To resolved; Latency and/or Loss set
	Offset     time.Duration
	Replica    int
	Actor      string
	ActorIndex int
	Errors     *TaskErrorRate
	Random     *RandomFaults
	Line       int // line of the entry in the file (0 if unknown), for reports
	// Pos is the entry's position in the file's faults list, from 1 (its
	// faults.N, as errors and --set name it, is Pos-1), 0 for a fault not
	// read from a file. The decoder sorts Faults by time, so a fault's
	// index in Faults need not be its file's: EntryIndex is what reports
	// give.
	Pos int
}

// EntryIndex is the fault's index among its file's faults (faults.N), or
// i, its index in Scenario.Faults, for a fault not read from a file (Pos
// 0: one built in Go).
func (fl *Fault) EntryIndex(i int) int {
	if fl.Pos > 0 {
		return fl.Pos - 1
	}
	return i
}

// TaskErrorRate is a task_errors fault's setting: each run of a normal task
// on Nodes (every node when empty) fails with an injected application error
// with probability Rate, as if its code had returned one (actor methods
// are not touched). A task with retry_exceptions retries it as its own
// error. A later task_errors on a node replaces an earlier one there, and
// the end of the earlier one's for then leaves the node alone.
type TaskErrorRate struct {
	Rate  float64
	Nodes []string // resolved node names; empty = every node
}

// The details of the custom simulator events (netsim.EvCustom) a
// task_errors fault logs when it starts and when its for ends, each
// followed by TaskErrorRate.Describe: analyses read them as the fault's
// row and its end.
const (
	TaskErrorsStarted = "task_errors "
	TaskErrorsEnded   = "task_errors ended: "
)

// Describe says what a task_errors fault does: "rate 40% on worker-0,
// worker-1" (or "on every node").
func (te *TaskErrorRate) Describe() string {
	on := "every node"
	if len(te.Nodes) > 0 {
		on = strings.Join(te.Nodes, ", ")
	}
	return fmt.Sprintf("rate %s on %s", strconv.FormatFloat(100*te.Rate, 'g', 4, 64)+"%", on)
}

// Random fault process kinds.
const (
	RandomCrash     = "crash"
	RandomPartition = "partition"
	RandomPause     = "pause"
	RandomLoss      = "loss"
)

// MaxRandomFaults bounds the faults a random process is expected to make,
// rate*(until-from): the runner draws them all before the run starts, so
// a rate a few zeros too large would exhaust memory.
const MaxRandomFaults = 1e6

// RandomFaults is a Poisson process of faults between From and Until, drawn
// from the run's seeded randomness. Each event picks a node uniformly from
// Nodes (all nodes when empty) and:
//
//	crash      kills it, and restarts it RestartAfter later (0 = never)
//	partition  isolates it from every other node for For
//	pause      pauses it for For
//	loss       sets loss Loss on all its links for For
type RandomFaults struct {
	Kind         string
	Rate         float64 // events per second
	From, Until  time.Duration
	RestartAfter time.Duration // crash; default 200ms
	For          time.Duration // partition, pause, loss; default 200ms
	Loss         float64       // loss; default 0.5
	Nodes        []string      // resolved node names; empty = every node
}
