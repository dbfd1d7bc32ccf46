package netsim

import (
	"math/bits"
	"strconv"
	"time"
)

// EventKind classifies an entry of the event log.
type EventKind uint8

// The kinds of logged events. Each logged event feeds [Sim.Digest] and, when
// set, [Config.OnEvent].
const (
	EvSend      EventKind = iota // a node handed a message to the network
	EvDeliver                    // a message reached its destination's handler
	EvDrop                       // a message was lost; Detail says why
	EvDuplicate                  // the network made a second copy of a message
	EvTimer                      // a node timer fired
	EvCrash                      // a node crashed
	EvRestart                    // a node restarted (new incarnation)
	EvPartition                  // a partition or one-way cut was installed
	EvHeal                       // every partition and cut was removed (Detail ""), or one partition (Detail: its groups)
	EvPause                      // a node was stalled
	EvDegrade                    // a link was degraded or restored
	EvSkew                       // a node's clock skew changed
	EvCustom                     // emitted by the harness or a component via Sim.Emit
	numEventKinds
)

var eventKindNames = [numEventKinds]string{
	EvSend:      "send",
	EvDeliver:   "deliver",
	EvDrop:      "drop",
	EvDuplicate: "duplicate",
	EvTimer:     "timer",
	EvCrash:     "crash",
	EvRestart:   "restart",
	EvPartition: "partition",
	EvHeal:      "heal",
	EvPause:     "pause",
	EvDegrade:   "degrade",
	EvSkew:      "skew",
	EvCustom:    "custom",
}

func (k EventKind) String() string {
	if k < numEventKinds {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one entry of the event log, passed to [Config.OnEvent] (and,
// for drops, [Config.OnDrop]). The
// pointer handed to the hook is only valid during the call: the hook must not
// retain it (copy the value if needed).
type Event struct {
	Kind     EventKind
	At       time.Duration // virtual time of the event
	From, To NodeID
	Size     int64
	Payload  any
	Detail   string
}

// Drop reasons used in Event.Detail for EvDrop.
const (
	DropLoss      = "loss"
	DropPartition = "partition"
	DropCrashed   = "crashed"        // destination down (or restarted since the send)
	DropSender    = "sender crashed" // Send called on a crashed node
	// DropUnsent: the sender crashed after Send but before the message had
	// left it (it waited for the sender's busy-until, or its bytes were
	// still being transmitted); logged when it would have arrived.
	DropUnsent  = "sender crashed before it left"
	DropUnknown = "unknown node"
)

// Digest mixing: an xxhash64-style round per 64-bit word, FNV-1a per byte of
// the detail string. Allocation-free.
const (
	digestSeed = 0xcbf29ce484222325
	prime1     = 0x9E3779B185EBCA87
	prime2     = 0xC2B2AE3D27D4EB4F
	fnvPrime   = 0x100000001b3
)

func mixWord(h, x uint64) uint64 {
	h ^= bits.RotateLeft64(x*prime2, 31) * prime1
	return bits.RotateLeft64(h, 27)*prime1 + 0x85EBCA77C2B2AE63
}

// emit logs one event: digest update plus the optional hooks. It never
// allocates: the Event handed to the hook lives in the Sim and is reused.
func (s *Sim) emit(kind EventKind, from, to NodeID, size int64, payload any, detail string) {
	h := s.digest
	h = mixWord(h, uint64(kind)|uint64(len(detail))<<8)
	h = mixWord(h, uint64(s.now))
	h = mixWord(h, uint64(from)<<32|uint64(to))
	h = mixWord(h, uint64(size))
	if len(detail) > 0 {
		d := uint64(digestSeed)
		for i := 0; i < len(detail); i++ {
			d = (d ^ uint64(detail[i])) * fnvPrime
		}
		h = mixWord(h, d)
	}
	s.digest = h
	s.logged++
	if kind == EvDrop && s.onDrop != nil {
		s.evBuf = Event{Kind: kind, At: time.Duration(s.now), From: from, To: to, Size: size, Payload: payload, Detail: detail}
		s.onDrop(&s.evBuf)
		s.evBuf = Event{}
	}
	if s.onEvent != nil {
		s.evBuf = Event{Kind: kind, At: time.Duration(s.now), From: from, To: to, Size: size, Payload: payload, Detail: detail}
		s.onEvent(&s.evBuf)
		s.evBuf = Event{}
	}
}
