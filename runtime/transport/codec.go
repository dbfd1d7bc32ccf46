package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ProtocolVersion is written in every frame header; a peer speaking another
// version is refused. 54: the updates an actor's shard sends a named
// actor's name's shard (a restart's "restarting", a burial) carry the
// actor's restarts so far (GcsActorUpdate.Restarts, behind a flag in the
// state byte, actorHasRestarts; at most MaxActorRestarts), which the
// name's shard keeps and reports (ActorInfo.Restarts): it said 0 for a
// restarted actor, and a peer of 53 still does.
// 53: a listing of named actors (GcsListNames) is a
// read on a chain, sent to the tail alone once the asker's earlier writes
// to the shard are acknowledged: a replica of 52 took it as a write (its
// tail, not its head, drops one sent to the head), and a raylet of 52 sent
// it to the head. 52: CallsDone carries its caller's word that it is
// over (Over: every number below it done), sent to a restarted actor as
// the caller's call sequence is dropped; a host of an ended job's callers
// forgets them, and refuses a late call of the job; a restarted actor's
// host asks the owners of the calls its restored state holds which are
// done (OpenCalls).
// 51: placement group names are per namespace, as
// actors' are: a group's name where it travels (GroupCreate.Name,
// GroupLookup.Name, GroupFound.Name) is its namespace, a NUL byte and the
// name (QualifiedName; CheckPlacementGroupName at decode), so a peer of
// 50 would register and look up bare names; named actors are listed
// (ray.ListNamedActors: GcsListNames to every shard, answered
// NamedActors, a page at a time); and the "restarting" an actor's shard
// tells its name's shard carries the restart's Attempt, by which the
// name's shard orders it against the host's "alive" (a peer of 50 sends
// none, and a late one overwrote the alive). 50: a raylet tells the object table the objects
// whose primary copies it holds for a job that ended (GcsObjectsGone),
// and the table answers their readers with ObjectJobEnded from then on;
// a peer of 49 would rebuild them from lineage.
// 49: actors are named per namespace, as Ray's:
// an actor's name where it travels (ActorSpec.Name, GcsActorUpdate.Name,
// GcsLookupActor.Name, ActorInfo.Name) is its namespace, a NUL byte and
// the name (QualifiedName; CheckActorName at decode), so the actor table
// keys names by namespace; and a task's spec may carry its job's
// namespace (SpecExtra.Namespace, a moreNamespace flag in the specMore
// byte, then the string; CheckNamespace) when it is not the job's
// anonymous one. A peer of 48 would register and look up bare names.
// Also in 49: a registered error name (CauseUser, SpecExtra.RetryOn) may
// be followed in an error value by ErrorValueSep and the value of a
// registered error type (runtime/ray's RegisterErrorType), so names hold
// no ErrorValueSep (CheckErrorName); and every actor's updates carry its
// call defaults, named or not, for handles rebuilt from its ID.
// 48: the address book travels as deltas after a full
// one (AddressBook.Full, Removed; JoinReply.Epoch), and an endpoint that
// missed one asks for the full book (BookRequest); a forwarded NodeControl
// names who asked (By). A peer of 47 would take a delta for the whole book.
// 47: an ObjectChunk may carry the sum of its value's
// real bytes (ObjectChunk.Sum, behind the sign of Offset), so a puller
// tells copies of two runs of a task apart; a peer of 46 refuses such a
// chunk as negative. 46: an actor's checkpoint bytes in the actor table
// (GcsActorCheckpoint.Data, ActorCheckpoint.Data) are the raylet's
// envelope (a magic, the instance's Checkpoint bytes, then the calls the
// checkpoint covers whose results were still held, with those results:
// node.wrapCheckpoint), so a restarted actor answers their retries instead
// of running them again; a raylet of 45 would hand the envelope to
// Restore. 45: an actor's creation spec may carry its call
// defaults (SpecExtra.Calls: max_task_retries, max_pending_calls), and a
// task's spec the names of the registered errors RetryExceptions retries
// (SpecExtra.RetryOn), behind the specMore flag of the Replay byte (a
// byte of flags, then the fields); actor updates and infos carry the
// call defaults behind a flag in the state byte (actorHasCalls), so a
// handle found by name calls as the creator's. 44: an ObjectChunk's frame is followed by its
// virtual bytes (PadBytes) on a real network, so TCP moves a Blob's
// declared size (40 on its branch). 43: a KillActor with NoRestart false (ray.Kill with
// AllowRestart, Ray's no_restart=False) ends the actor's worker as a crash
// does, and the actor table restarts it while its restarts allow (a peer
// of 42 took every KillActor as final) (39 on its branch). 42: an actor spec's Replay byte has a ScheduleCPU
// flag (an actor created with no resource option needs a CPU free to be
// placed, as Ray's default actor, and holds none), and the global
// scheduler tells a task's owner the task is infeasible (TaskInfeasible)
// (40 on its branch). 41: CancelTask's Force is honoured (the worker is
// taken for killed) and its flags byte has Shallow (Ray's
// recursive=False); an error value's Causes may hold CauseGroupRemoved and
// CauseWorkerCrashed (a cancel's), and CauseOwnerDied on an
// ErrKindObjectLost (a Put whose owner died), which the object table
// tells a reader with PutOwnerLost instead of ObjectLost. 40: a job is a driver's, not its node's (JobID:
// the node and the driver's number there; ActorSpec.Job, a uvarint of up
// to 64 bits, the same bytes as before for a node's first driver), and a
// driver's return ends its job (JobEnd, from its node to every raylet and
// the scheduler). 39: Value.Causes is 32 bits wide, and CauseUser
// says the names of registered user errors follow an error value's text
// (runtime/ray's RegisterError). 38: ObjectOrphaned (the owner of an object's task
// died before the task finished: its readers rebuild it) and GcsAdoptRun
// (a node running such a task holds the rebuild, so readers wait for its
// run) (37 on its branch). 37: the global scheduler answers a heartbeat that
// reports a queue with the other nodes' free room (ClusterRoom), and a
// raylet hands queued tasks that fit there back (RespillTask); placements
// are numbered (PlaceTask.Seq) and heartbeats echo the highest had
// (Heartbeat.Placed) (36 on its branch). 36: an error value may carry the runtime error
// kinds its user code's error wrapped (Value.Causes, ObjectChunk.Causes:
// a flag in the ErrKind byte, then a uvarint). 35: ray.Nodes asks the scheduler for its view (ClusterQuery, ClusterView), and the merge of a task's
// job (33 on its branch) and the store report (34 on its). 34: raylets of a live cluster report their object
// store's use to the coordinator (StoreReport), and a NodeStatus carries
// it (Store). 33: a spec may carry its job (ActorSpec.Job, a
// flag in the strategy byte, then a uvarint), and NodeDead says whether
// the jobs of the node's drivers end (JobsEnd, Left: the low bits of
// Beats). 32: a lost object's rebuild is claimed from the task
// table (GcsRebuild), which answers with TaskInfo's Claim (sharing the
// Recorded byte), and owners report a task's re-executions to it
// (GcsTaskRerun): retries and rebuilds share max_retries.
// 31: a generator task's spec may carry its
// Backpressure (a flag in the strategy byte, then a uvarint), and
// raylets exchange StreamWait, StreamConsumed and StreamEnded; a value's
// error kind may be ErrKindReplayInconsistent. 30: an actor spec's Replay byte has flags for a
// creation's concurrency groups and a method call's group
// (ActorSpec.Concurrency), and a value's error
// kind may be ErrKindUnknownConcurrencyGroup. 29: a raylet leaving on
// purpose says so (NodeLeaving), and the node table declares it dead at
// once. 28: an actor spec's Replay byte has a Detached flag,
// and the creator's "pending" GcsActorUpdate names the actor's owner
// (Owner, Incarnation), which the actor dies with unless detached.
// 27: a NodeControl carries a task_errors Rate, a
// StatusReply may say its asker was Removed, a spec's strategy byte has a
// CaptureChildTasks bit and an actor spec's Replay byte a MaxConcurrency
// flag; placement groups are looked up by name (GroupLookup, GroupFound);
// a refused handshake is answered with a refusal. 26: a PullRequest may ask for some chunks only
// (Chunks), so a retried pull is not sent what it has; a NodeControl
// carries its requester's number (Seq), echoed in the acknowledgement. 25: a node's status (StatusReply) carries its
// heartbeat's mean task time and pull bandwidth. 24: a chain request names the configuration it was
// sent under (GcsRequest.Chain); a value's error kind may be
// ErrKindUnschedulable (the scheduler's PlaceTask reason "unschedulable").
// 23: a chain snapshot travels in parts
// (ChainSnapshot.Part, Parts), each under a frame. 22: a heartbeat carries its node's mean pull
// bandwidth (Heartbeat.MeanBandwidth). 21: the actor table answers an actor's checkpoint
// and method-log writes (ActorWritten), and a host publishes a method's
// result only once answered. 20: an actor's checkpoint and method-log
// writes name the sender's incarnation (GcsActorCheckpoint,
// GcsActorMethod), and the actor table refuses a dead one's. 19: a heartbeat carries when its node sent it, on
// the node's monotonic clock, and how long it waited at the head of the
// node table's chain (Heartbeat.Sent, Held); the node table's answer
// returns their sum (HeartbeatAck.From), so the lease compares no two
// nodes' clocks. 18: a heartbeat carries the time the head of the
// node table's chain took it (Heartbeat.TakenAt). 17: the node table answers heartbeats
// (HeartbeatAck), and a raylet not answered for most of NodeTimeout stops
// starting work. 16: TaskPlaced names the placed submission
// (Attempt, Rebuild) for every task, not only creations. 15: GcsAddObject
// says whether the copy is a failure of record (the sign of its size); GcsTaskCancelled became GcsTaskFailed,
// with the failure's kind, and may ask for the task table's verdict;
// TaskInfo carries the kind; CancelTask says whether it ends a rebuild.
// 14: TaskInfo says whether the task's results were
// recorded, and recorded cancelled (GcsTaskFailed); CallsDone;
// ActorCall names the host incarnation it is meant for. 13: ActorInfo names the incarnation hosting the
// actor, PlaceTask the incarnation it is placed on. 12: the node table
// answers a registration with the RegisterNode itself, and a raylet
// announces object locations only once answered: a raylet of 12 would
// wait forever for a GCS of 11. 11:
// task IDs come in blocks (ChildTaskID) and a task's GCS shard is its
// block's: peers of 10 would look for a task on another shard.
const ProtocolVersion = 54

// MaxFrameBytes bounds one frame on the wire (header included). Larger values
// (big objects) travel in chunks well below it.
const MaxFrameBytes = 8 << 20

// MaxCount bounds any length or count read from the wire, before allocation.
const MaxCount = 1 << 20

// Kind identifies a message type on the wire.
type Kind uint16

// Message is what components exchange. Every message type is registered with
// its Kind (see Register) and encodes itself with the Encoder/Decoder below.
type Message interface {
	Kind() Kind
	// MarshalWire appends the message body to e.
	MarshalWire(e *Encoder)
	// UnmarshalWire reads the body; errors are sticky in d.
	UnmarshalWire(d *Decoder)
}

// Datagram is implemented by best-effort messages — periodic pings and
// heartbeats, where the next one replaces a lost one. A transport may send
// them outside a connection's ordered, retransmitted stream (the simulator
// does, as a UDP failure detector would); TCP delivers them like any other.
// Failure detectors built on them then do not mistake a retransmission delay
// for a death.
type Datagram interface {
	Message
	Datagram()
}

// Sized is implemented by messages that stand for more bytes than they
// encode: a chunk of a simulated 100 MB object carries no real payload, but
// netsim charges bandwidth for VirtualBytes.
type Sized interface {
	VirtualBytes() int64
}

// Sentinel decoding errors; callers branch on them (a TCP host closes the
// connection on any of them).
var (
	ErrShortBuffer  = errors.New("transport: short buffer")
	ErrTooLarge     = errors.New("transport: value exceeds bound")
	ErrUnknownKind  = errors.New("transport: unknown message kind")
	ErrBadVersion   = errors.New("transport: unsupported protocol version")
	ErrTrailingData = errors.New("transport: trailing bytes after message")
	// ErrInvalid: a field decoded but breaks an invariant the receiver
	// relies on (unsorted resource names, a negative request).
	ErrInvalid = errors.New("transport: invalid value")
)

var registry [1 << 10]func() Message

// Register makes a message kind decodable. It is called from init functions
// of this package only; kinds are fixed, so this is not mutable state at run
// time.
func register(k Kind, f func() Message) {
	if int(k) >= len(registry) || registry[k] != nil {
		panic(fmt.Sprintf("transport: bad or duplicate kind %d", k))
	}
	registry[k] = f
}

// Kinds lists every registered message kind in ascending order (for tests
// that must cover every message type).
func Kinds() []Kind {
	var ks []Kind
	for k, f := range registry {
		if f != nil {
			ks = append(ks, Kind(k))
		}
	}
	return ks
}

// New returns a zero message of kind k.
func New(k Kind) (Message, error) {
	if int(k) >= len(registry) || registry[k] == nil {
		return nil, fmt.Errorf("%w %d", ErrUnknownKind, k)
	}
	return registry[k](), nil
}

// Encoder appends values in a compact little-endian/varint form.
type Encoder struct{ buf []byte }

// NewEncoder returns an encoder appending to buf.
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded bytes (the caller owns them until the next Reset).
func (e *Encoder) Bytes() []byte { return e.buf }

// Reset empties the encoder, keeping its buffer.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Len is the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

func (e *Encoder) U8(v uint8)               { e.buf = append(e.buf, v) }
func (e *Encoder) Bool(v bool)              { e.buf = append(e.buf, b2u(v)) }
func (e *Encoder) U16(v uint16)             { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }
func (e *Encoder) U32(v uint32)             { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *Encoder) U64(v uint64)             { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }
func (e *Encoder) Uvarint(v uint64)         { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *Encoder) Varint(v int64)           { e.buf = binary.AppendVarint(e.buf, v) }
func (e *Encoder) F64(v float64)            { e.U64(math.Float64bits(v)) }
func (e *Encoder) Duration(v time.Duration) { e.Varint(int64(v)) }
func (e *Encoder) Node(v NodeID)            { e.Uvarint(uint64(v)) }
func (e *Encoder) Task(v TaskID)            { e.U64(uint64(v)) }

// Object encodes an ObjectID.
func (e *Encoder) Object(v ObjectID) { e.buf = AppendObject(e.buf, v) }

// AppendObject appends an object ID's encoding (Encoder.Object) to b.
func AppendObject(b []byte, v ObjectID) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Task))
	return binary.AppendUvarint(b, uint64(v.Index)<<1|uint64(b2u(v.Put)))
}

// Bytes8 encodes a length-prefixed byte slice.
func (e *Encoder) Bytes8(b []byte) {
	e.Uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// String encodes a length-prefixed string.
func (e *Encoder) String(s string) { e.buf = appendString(e.buf, s) }

// appendString appends s's encoding (Encoder.String) to b.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func b2u(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// Decoder reads what Encoder wrote. Errors are sticky: after the first
// failure every read returns a zero value and Err reports the failure, so
// message decoders read straight through and check once.
type Decoder struct {
	buf   []byte
	off   int
	err   error
	depth int               // nesting of Message calls (bounded)
	names map[string]string // interned strings (see Intern); nil: none
}

// Interning bounds: strings longer than maxInterned are not interned, and
// past maxInternedStrings distinct ones new strings are not kept (hostile
// input cannot grow a decoder without bound).
const (
	maxInterned        = 64
	maxInternedStrings = 4096
)

// Intern makes String return one shared copy of each short string it has
// read, for a decoder reused across the frames of one peer: function names,
// task names and the like repeat in every message.
func (d *Decoder) Intern() { d.names = make(map[string]string) }

// NewDecoder reads from buf (not copied; Bytes8 results are copies).
func NewDecoder(buf []byte) *Decoder { return &Decoder{buf: buf} }

// Err is the first error met, if any.
func (d *Decoder) Err() error { return d.err }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

// Fail records err (if none is recorded yet).
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.Remaining() < n {
		d.err = fmt.Errorf("%w at offset %d (need %d)", ErrShortBuffer, d.off, n)
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

func (d *Decoder) U8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *Decoder) Bool() bool { return d.U8() != 0 }

func (d *Decoder) U16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *Decoder) U32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *Decoder) U64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad uvarint at offset %d", ErrShortBuffer, d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *Decoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint at offset %d", ErrShortBuffer, d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *Decoder) F64() float64            { return math.Float64frombits(d.U64()) }
func (d *Decoder) Duration() time.Duration { return time.Duration(d.Varint()) }
func (d *Decoder) Task() TaskID            { return TaskID(d.U64()) }

func (d *Decoder) Node() NodeID {
	v := d.Uvarint()
	if v > math.MaxUint32 {
		d.Fail(fmt.Errorf("%w: node id %d", ErrTooLarge, v))
		return 0
	}
	return NodeID(v)
}

func (d *Decoder) Object() ObjectID {
	t := d.Task()
	v := d.Uvarint()
	if v>>1 > math.MaxUint32 {
		d.Fail(fmt.Errorf("%w: object index %d", ErrTooLarge, v>>1))
		return ObjectID{}
	}
	return ObjectID{Task: t, Index: uint32(v >> 1), Put: v&1 == 1}
}

// Count reads a length or element count and checks it against max and
// against the bytes left (each element takes at least minBytes), so a hostile
// count cannot make the reader allocate.
func (d *Decoder) Count(max, minBytes int) int {
	v := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64(max) || (minBytes > 0 && v > uint64(d.Remaining()/minBytes)) {
		d.Fail(fmt.Errorf("%w: count %d at offset %d", ErrTooLarge, v, d.off))
		return 0
	}
	return int(v)
}

// Bytes8 reads a length-prefixed byte slice into a fresh copy.
func (d *Decoder) Bytes8() []byte {
	n := d.Count(MaxFrameBytes, 1)
	b := d.take(n)
	if b == nil || n == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// String reads a length-prefixed string.
func (d *Decoder) String() string {
	n := d.Count(MaxFrameBytes, 1)
	b := d.take(n)
	if d.names == nil || len(b) > maxInterned {
		return string(b)
	}
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < maxInternedStrings {
		d.names[s] = s
	}
	return s
}

// Marshal appends m's frame body (version, kind, message) to buf.
func Marshal(buf []byte, m Message) []byte {
	e := Encoder{buf: buf}
	e.MarshalMessage(m)
	return e.buf
}

// AppendMessage appends m's frame body to buf through e (which keeps
// nothing of buf): Marshal without an allocation per message.
func (e *Encoder) AppendMessage(buf []byte, m Message) []byte {
	e.buf = buf
	e.MarshalMessage(m)
	buf, e.buf = e.buf, nil
	return buf
}

// MarshalMessage appends m's frame body to e: Marshal for callers that keep
// an Encoder (a *Encoder passed to MarshalWire escapes, so a reused one
// saves an allocation per message on hot paths).
func (e *Encoder) MarshalMessage(m Message) {
	e.U8(ProtocolVersion)
	e.U16(uint16(m.Kind()))
	m.MarshalWire(e)
}

// Unmarshal decodes one frame body written by Marshal. It never panics on
// hostile input: every failure is an error.
func Unmarshal(body []byte) (Message, error) {
	var d Decoder
	return d.UnmarshalMessage(body)
}

// UnmarshalMessage is Unmarshal for a caller that keeps a Decoder across
// frames (a Decoder passed to UnmarshalWire escapes to the heap: one
// allocation per message otherwise). It keeps the decoder's interned
// strings.
func (d *Decoder) UnmarshalMessage(body []byte) (Message, error) {
	d.buf, d.off, d.err, d.depth = body, 0, nil, 0
	if v := d.U8(); d.err == nil && v != ProtocolVersion {
		return nil, fmt.Errorf("%w %d", ErrBadVersion, v)
	}
	k := Kind(d.U16())
	if d.err != nil {
		return nil, d.err
	}
	m, err := New(k)
	if err != nil {
		return nil, err
	}
	m.UnmarshalWire(d)
	if d.err != nil {
		return nil, fmt.Errorf("transport: decode kind %d: %w", k, d.err)
	}
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("transport: decode kind %d: %w (%d)", k, ErrTrailingData, d.Remaining())
	}
	return m, nil
}

// WireSize is the encoded size of m plus its virtual payload, the bytes a
// network is charged for. scratch is reused to avoid allocation.
func WireSize(scratch []byte, m Message) (int64, []byte) {
	e := Encoder{buf: scratch[:0]}
	n := e.WireSize(m)
	return n, e.buf
}

// WireSize encodes m into e (after resetting it) and returns the bytes a
// network is charged for: the frame plus m's virtual payload.
func (e *Encoder) WireSize(m Message) int64 {
	e.buf = e.buf[:0]
	e.MarshalMessage(m)
	n := int64(len(e.buf)) + 4 // length prefix
	if s, ok := m.(Sized); ok {
		n += s.VirtualBytes()
	}
	return n
}
