package transport

import "fmt"

// Messages of GCS chain replication (runtime/gcs): a shard with more than
// one replica is a chain; clients send requests to its head (writes) or tail
// (reads), members forward updates down the chain, the tail acknowledges,
// and a configuration master reconfigures the chain when a member dies.
// Their kinds live in their own range so that the runtime's list above can
// grow without renumbering them.
const (
	KindGcsRequest Kind = 200 + iota
	KindGcsAck
	KindChainUpdate
	KindChainAck
	KindChainConfig
	KindChainPing
	KindChainSnapshot
)

// maxNesting bounds envelopes inside envelopes on decode.
const maxNesting = 4

// GcsRequest carries a client's GCS operation (one of the Gcs*, Heartbeat,
// RegisterNode or NodeDead messages) to a chain. Seq is the client's
// sequence number (0: not acknowledged, e.g. heartbeats); Low is the
// client's lowest unacknowledged Seq (every lower one is done, so the chain
// may forget it for deduplication).
type GcsRequest struct {
	Seq, Low uint64
	// Epoch is the client's incarnation: sequence numbers are compared
	// within one epoch only, and a later epoch is a new client (restarted:
	// its numbers may start anywhere, its clock may have gone back).
	Epoch uint64
	// Chain is the epoch of the chain configuration the client sent the
	// request under (ChainConfig.Epoch): a replica that has not heard of
	// that configuration yet keeps the request until it has, rather than
	// drop it (see gcs.Replica.onRequest).
	Chain uint64
	Op    Message
}

// GcsAck is the tail's acknowledgement of a client's request Seq.
type GcsAck struct{ Seq uint64 }

// ChainUpdate is request Index of a shard's history, forwarded from a chain
// member to its successor. Client, Seq and Low are the request's origin.
type ChainUpdate struct {
	Shard  uint32
	Index  uint64
	Client NodeID
	Seq    uint64
	Low    uint64
	Epoch  uint64 // the client's (GcsRequest.Epoch)
	Op     Message
}

// ChainAck tells chain members that the tail applied every update up to
// Index.
type ChainAck struct {
	Shard uint32
	Index uint64
	// Epoch, when set, marks a joining member's acknowledgement of the
	// snapshot it installed, sent for that configuration epoch, Index being
	// the snapshot's (its predecessor then releases the side effects of the
	// updates up to Index, which the joiner holds but never applied, and
	// forwards what followed). A tail's acknowledgement of updates, or of an
	// earlier join's snapshot, may still be in flight when its predecessor
	// starts a new snapshot, and must not pass for it. A tail re-sent
	// updates its snapshot held (its predecessor changed) answers the same
	// way, with the epoch it joined under: the sender releases them.
	Epoch uint64
}

// ChainConfig is the master's announcement of a shard's chain, head first.
// Join, when set, is the tail that joins by copying the state of its
// predecessor (a ChainSnapshot) before it serves.
type ChainConfig struct {
	Shard   uint32
	Epoch   uint64
	Members []NodeID
	Join    NodeID
}

// ChainPing is a chain member's heartbeat to the master (Epoch is the
// configuration it knows; 0 asks to join), or, with Client set, a client's
// request for the current configuration.
type ChainPing struct {
	Shard   uint32
	Epoch   uint64
	Applied uint64
	Client  bool
}

// StoreEntry is one key/value pair of a GCS table.
type StoreEntry struct {
	Table uint8
	Key   []byte
	Value []byte
}

// ChainSnapshot carries a shard's whole state as of update Index to a
// joining tail.
type ChainSnapshot struct {
	Shard uint32
	Index uint64
	Epoch uint64 // the configuration the join belongs to (acknowledged back)
	// A snapshot travels in Parts messages (Part counts from 0), each
	// well under a frame: a shard's store can be far larger than one.
	// The joiner installs it once it has every part of one sending
	// (Epoch, Index, Parts).
	Part, Parts uint32
	Entries     []StoreEntry
}

func (*GcsRequest) Kind() Kind  { return KindGcsRequest }
func (*GcsAck) Kind() Kind      { return KindGcsAck }
func (*ChainUpdate) Kind() Kind { return KindChainUpdate }
func (*ChainAck) Kind() Kind    { return KindChainAck }
func (*ChainConfig) Kind() Kind { return KindChainConfig }
func (*ChainPing) Kind() Kind   { return KindChainPing }

// Datagram marks chain pings best effort: the next one replaces a lost one.
func (*ChainPing) Datagram()      {}
func (*ChainSnapshot) Kind() Kind { return KindChainSnapshot }

// Message encodes a nested message (nil as kind 0).
func (e *Encoder) Message(m Message) {
	if m == nil {
		e.U16(0)
		return
	}
	e.U16(uint16(m.Kind()))
	m.MarshalWire(e)
}

// Message decodes a nested message written by Encoder.Message.
func (d *Decoder) Message() Message {
	k := Kind(d.U16())
	if d.err != nil || k == 0 {
		return nil
	}
	if d.depth >= maxNesting {
		d.Fail(fmt.Errorf("%w: messages nested deeper than %d", ErrTooLarge, maxNesting))
		return nil
	}
	m, err := New(k)
	if err != nil {
		d.Fail(err)
		return nil
	}
	d.depth++
	m.UnmarshalWire(d)
	d.depth--
	return m
}

func (m *GcsRequest) MarshalWire(e *Encoder) {
	e.Uvarint(m.Seq)
	e.Uvarint(m.Low)
	e.Uvarint(m.Epoch)
	e.Uvarint(m.Chain)
	e.Message(m.Op)
}
func (m *GcsRequest) UnmarshalWire(d *Decoder) {
	m.Seq, m.Low, m.Epoch, m.Chain = d.Uvarint(), d.Uvarint(), d.Uvarint(), d.Uvarint()
	m.Op = d.Message()
}
func (m *GcsAck) MarshalWire(e *Encoder)   { e.Uvarint(m.Seq) }
func (m *GcsAck) UnmarshalWire(d *Decoder) { m.Seq = d.Uvarint() }
func (m *ChainUpdate) MarshalWire(e *Encoder) {
	e.U32(m.Shard)
	e.Uvarint(m.Index)
	e.Node(m.Client)
	e.Uvarint(m.Seq)
	e.Uvarint(m.Low)
	e.Uvarint(m.Epoch)
	e.Message(m.Op)
}
func (m *ChainUpdate) UnmarshalWire(d *Decoder) {
	m.Shard, m.Index, m.Client, m.Seq, m.Low, m.Epoch = d.U32(), d.Uvarint(), d.Node(), d.Uvarint(), d.Uvarint(), d.Uvarint()
	m.Op = d.Message()
}
func (m *ChainAck) MarshalWire(e *Encoder) { e.U32(m.Shard); e.Uvarint(m.Index); e.Uvarint(m.Epoch) }
func (m *ChainAck) UnmarshalWire(d *Decoder) {
	m.Shard, m.Index, m.Epoch = d.U32(), d.Uvarint(), d.Uvarint()
}
func (m *ChainConfig) MarshalWire(e *Encoder) {
	e.U32(m.Shard)
	e.Uvarint(m.Epoch)
	e.Nodes(m.Members)
	e.Node(m.Join)
}
func (m *ChainConfig) UnmarshalWire(d *Decoder) {
	m.Shard, m.Epoch, m.Members, m.Join = d.U32(), d.Uvarint(), d.Nodes(), d.Node()
}
func (m *ChainPing) MarshalWire(e *Encoder) {
	e.U32(m.Shard)
	e.Uvarint(m.Epoch)
	e.Uvarint(m.Applied)
	e.Bool(m.Client)
}
func (m *ChainPing) UnmarshalWire(d *Decoder) {
	m.Shard, m.Epoch, m.Applied, m.Client = d.U32(), d.Uvarint(), d.Uvarint(), d.Bool()
}
func (m *ChainSnapshot) MarshalWire(e *Encoder) {
	e.U32(m.Shard)
	e.Uvarint(m.Index)
	e.Uvarint(m.Epoch)
	e.Uvarint(uint64(m.Part))
	e.Uvarint(uint64(m.Parts))
	e.Uvarint(uint64(len(m.Entries)))
	for _, s := range m.Entries {
		e.U8(s.Table)
		e.Bytes8(s.Key)
		e.Bytes8(s.Value)
	}
}
func (m *ChainSnapshot) UnmarshalWire(d *Decoder) {
	m.Shard, m.Index, m.Epoch = d.U32(), d.Uvarint(), d.Uvarint()
	m.Part, m.Parts = uint32(d.Count(MaxCount, 0)), uint32(d.Count(MaxCount, 0))
	if m.Part >= max(m.Parts, 1) {
		d.Fail(fmt.Errorf("%w: chain snapshot part %d of %d", ErrInvalid, m.Part, m.Parts))
	}
	if n := d.Count(MaxCount, 3); n > 0 {
		m.Entries = make([]StoreEntry, n)
		for i := range m.Entries {
			m.Entries[i] = StoreEntry{Table: d.U8(), Key: d.Bytes8(), Value: d.Bytes8()}
		}
	}
}

func init() {
	register(KindGcsRequest, func() Message { return new(GcsRequest) })
	register(KindGcsAck, func() Message { return new(GcsAck) })
	register(KindChainUpdate, func() Message { return new(ChainUpdate) })
	register(KindChainAck, func() Message { return new(ChainAck) })
	register(KindChainConfig, func() Message { return new(ChainConfig) })
	register(KindChainPing, func() Message { return new(ChainPing) })
	register(KindChainSnapshot, func() Message { return new(ChainSnapshot) })
}
