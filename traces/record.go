// Package traces is raysim's event log: every network event of netsim
// (send, deliver, drop, duplicate, timer, faults) and every runtime event
// (task, object, GCS, actor and node lifecycle), each with its virtual time,
// as compact binary records in a streaming, block-compressed file whose
// header holds the scenario, the seed, the overrides and the raysim version.
//
// The run's digest is a rolling hash over the canonical encoding of the
// records (see Recorder): the same scenario and seed give the same records
// and so the same digest on any machine. A Recorder without a Writer is the
// digest-only sink the runner always uses; with a Writer it also streams the
// records to a file. A Reader iterates a file's records and reports a
// truncated or corrupted file as a *FormatError with the byte offset.
//
// Sub-packages replay a trace against the code (traces/replay) and export it
// (Chrome trace-event JSON, JSONL and statistics live here; OpenTelemetry
// spans in traces/otelspans).
package traces

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"raysim/netsim"
	"raysim/runtime/transport"
)

// Source says which layer emitted a record.
type Source uint8

const (
	Runtime Source = 0 // a runtime component (transport.EventKind)
	Net     Source = 1 // netsim (netsim.EventKind)
)

// Record is one event of the log. Which fields are meaningful depends on the
// source and kind (docs/traces.md lists them); unset fields are zero.
type Record struct {
	At     time.Duration // virtual time
	Source Source
	Kind   uint8            // transport.EventKind or netsim.EventKind
	Node   transport.NodeID // where it happened (net: the sender / the node)
	Peer   transport.NodeID // the other node (net: the destination)
	Msg    transport.Kind   // net message events: the message's wire kind
	Task   transport.TaskID
	Object transport.ObjectID
	Bytes  int64 // sizes (net: the message's charged size; skew: the offset)
	Detail string
}

// KindName is the record's kind as "net.send", "task.finished", ...
func (r *Record) KindName() string {
	if r.Source == Net {
		return "net." + netsim.EventKind(r.Kind).String()
	}
	return transport.EventKind(r.Kind).String()
}

// MsgName is a message kind's Go type name ("PlaceTask"), or "kindN".
func MsgName(k transport.Kind) string {
	if int(k) < len(msgNames) && msgNames[k] != "" {
		return msgNames[k]
	}
	return "kind" + strconv.Itoa(int(k))
}

var msgNames = func() []string {
	var names []string
	for _, k := range transport.Kinds() {
		m, err := transport.New(k)
		if err != nil {
			continue
		}
		for int(k) >= len(names) {
			names = append(names, "")
		}
		names[k] = strings.TrimPrefix(fmt.Sprintf("%T", m), "*transport.")
	}
	return names
}()

// IsNet reports whether the record comes from netsim.
func (r *Record) IsNet() bool { return r.Source == Net }

// RuntimeKind is the record's runtime kind (EvNone for net records).
func (r *Record) RuntimeKind() transport.EventKind {
	if r.Source == Net {
		return transport.EvNone
	}
	return transport.EventKind(r.Kind)
}

// NetKind is the record's netsim kind (and false for runtime records).
func (r *Record) NetKind() (netsim.EventKind, bool) {
	return netsim.EventKind(r.Kind), r.Source == Net
}

// String is a one-line human form of the record.
func (r *Record) String() string {
	b := make([]byte, 0, 96)
	b = append(b, r.At.String()...)
	b = append(b, ' ')
	b = append(b, r.KindName()...)
	b = append(b, " node="...)
	b = strconv.AppendUint(b, uint64(r.Node), 10)
	if r.Peer != 0 {
		b = append(b, " peer="...)
		b = strconv.AppendUint(b, uint64(r.Peer), 10)
	}
	if r.Msg != 0 {
		b = append(b, " msg="...)
		b = append(b, MsgName(r.Msg)...)
	}
	if r.Task != 0 {
		b = append(b, " task="...)
		b = append(b, r.Task.String()...)
	}
	if r.Object != (transport.ObjectID{}) {
		b = append(b, " object="...)
		b = append(b, r.Object.String()...)
	}
	if r.Bytes != 0 {
		b = append(b, " bytes="...)
		b = strconv.AppendInt(b, r.Bytes, 10)
	}
	if r.Detail != "" {
		b = append(b, " detail="...)
		b = strconv.AppendQuote(b, r.Detail)
	}
	return string(b)
}

// Field presence bits of the canonical encoding.
const (
	hasNode = 1 << iota
	hasPeer
	hasMsg
	hasTask
	hasObject
	hasBytes
	hasDetail
)

// The canonical encoding of one record, after the previous record at prev:
//
//	code   byte     source<<7 | kind
//	flags  byte     which fields follow (hasNode ...)
//	dt     uvarint  At - prev (records are in time order)
//	node, peer, msg, task uvarint (each if flagged)
//	object uvarint task, uvarint index<<1|put (if flagged)
//	bytes  varint (if flagged)
//	detail uvarint length + bytes (if flagged)
//
// It is the byte string the digest hashes and the file stores.
func appendRecord(b []byte, prev time.Duration, src Source, kind uint8, at time.Duration,
	node, peer transport.NodeID, msg transport.Kind, task transport.TaskID, obj transport.ObjectID,
	bytes int64, detail string) []byte {
	var flags byte
	if node != 0 {
		flags |= hasNode
	}
	if peer != 0 {
		flags |= hasPeer
	}
	if msg != 0 {
		flags |= hasMsg
	}
	if task != 0 {
		flags |= hasTask
	}
	if obj != (transport.ObjectID{}) {
		flags |= hasObject
	}
	if bytes != 0 {
		flags |= hasBytes
	}
	if detail != "" {
		flags |= hasDetail
	}
	b = append(b, byte(src)<<7|kind&0x7f, flags)
	b = binary.AppendUvarint(b, uint64(at-prev))
	if flags&hasNode != 0 {
		b = binary.AppendUvarint(b, uint64(node))
	}
	if flags&hasPeer != 0 {
		b = binary.AppendUvarint(b, uint64(peer))
	}
	if flags&hasMsg != 0 {
		b = binary.AppendUvarint(b, uint64(msg))
	}
	if flags&hasTask != 0 {
		b = binary.AppendUvarint(b, uint64(task))
	}
	if flags&hasObject != 0 {
		b = binary.AppendUvarint(b, uint64(obj.Task))
		put := uint64(0)
		if obj.Put {
			put = 1
		}
		b = binary.AppendUvarint(b, uint64(obj.Index)<<1|put)
	}
	if flags&hasBytes != 0 {
		b = binary.AppendVarint(b, bytes)
	}
	if flags&hasDetail != 0 {
		b = binary.AppendUvarint(b, uint64(len(detail)))
		b = append(b, detail...)
	}
	return b
}

// AppendRecord appends r's canonical encoding (relative to the previous
// record's time prev) to b.
func AppendRecord(b []byte, prev time.Duration, r *Record) []byte {
	return appendRecord(b, prev, r.Source, r.Kind, r.At, r.Node, r.Peer, r.Msg, r.Task, r.Object, r.Bytes, r.Detail)
}

var errRecord = errors.New("malformed record")

// knownKind reports whether this binary knows the record kind.
func knownKind(src Source, kind uint8) bool {
	if src == Net {
		return kind < numNetKinds
	}
	return kind < numRuntimeKinds
}

// The kinds this binary knows: the first name each kind enum does not have.
var numNetKinds, numRuntimeKinds = func() (uint8, uint8) {
	var n, m uint8
	for !strings.HasPrefix(netsim.EventKind(n).String(), "EventKind(") && n < 127 {
		n++
	}
	for transport.EventKind(m).String() != "unknown" && m < 127 {
		m++
	}
	return n, m
}()

func sourceName(s Source) string {
	if s == Net {
		return "net"
	}
	return "runtime"
}

// decodeRecord reads one record from b into r (prev: the previous record's
// time); it returns the bytes consumed. intern, if set, dedups detail strings.
func decodeRecord(b []byte, prev time.Duration, r *Record, intern map[string]string) (int, error) {
	if len(b) < 3 {
		return 0, fmt.Errorf("%w: %d bytes left", errRecord, len(b))
	}
	code, flags := b[0], b[1]
	if flags&^byte(hasNode|hasPeer|hasMsg|hasTask|hasObject|hasBytes|hasDetail) != 0 {
		return 0, fmt.Errorf("%w: unknown field flags %#x", errRecord, flags)
	}
	*r = Record{Source: Source(code >> 7), Kind: code & 0x7f}
	if !knownKind(r.Source, r.Kind) {
		// Decoded anyway it would read as, say, net.EventKind(126) and be
		// skipped by every analysis: a newer raysim's record, or damage.
		return 0, fmt.Errorf("%w: %s record kind %d, unknown to this raysim (a newer raysim's record kind, or damage)",
			errRecord, sourceName(r.Source), r.Kind)
	}
	i := 2
	uv := func() (uint64, error) {
		v, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad varint at record byte %d", errRecord, i)
		}
		i += n
		return v, nil
	}
	dt, err := uv()
	if err != nil {
		return 0, err
	}
	if prev < 0 || dt > uint64(math.MaxInt64-prev) { // the writer never exceeds math.MaxInt64
		return 0, fmt.Errorf("%w: time delta %d overflows the time %d", errRecord, dt, prev)
	}
	r.At = prev + time.Duration(dt)
	if flags&hasNode != 0 {
		v, err := uv()
		if err != nil {
			return 0, err
		}
		r.Node = transport.NodeID(v)
	}
	if flags&hasPeer != 0 {
		v, err := uv()
		if err != nil {
			return 0, err
		}
		r.Peer = transport.NodeID(v)
	}
	if flags&hasMsg != 0 {
		v, err := uv()
		if err != nil {
			return 0, err
		}
		r.Msg = transport.Kind(v)
	}
	if flags&hasTask != 0 {
		v, err := uv()
		if err != nil {
			return 0, err
		}
		r.Task = transport.TaskID(v)
	}
	if flags&hasObject != 0 {
		t, err := uv()
		if err != nil {
			return 0, err
		}
		x, err := uv()
		if err != nil {
			return 0, err
		}
		r.Object = transport.ObjectID{Task: transport.TaskID(t), Index: uint32(x >> 1), Put: x&1 == 1}
	}
	if flags&hasBytes != 0 {
		v, n := binary.Varint(b[i:])
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad varint at record byte %d", errRecord, i)
		}
		i += n
		r.Bytes = v
	}
	if flags&hasDetail != 0 {
		n, err := uv()
		if err != nil {
			return 0, err
		}
		if n > uint64(len(b)-i) {
			return 0, fmt.Errorf("%w: detail of %d bytes past the block end", errRecord, n)
		}
		raw := b[i : i+int(n)]
		if intern != nil {
			s, ok := intern[string(raw)]
			if !ok && len(intern) < 1<<16 {
				s = string(raw)
				intern[s] = s
			} else if !ok {
				s = string(raw)
			}
			r.Detail = s
		} else {
			r.Detail = string(raw)
		}
		i += int(n)
	}
	return i, nil
}
