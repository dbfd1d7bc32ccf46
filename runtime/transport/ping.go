package transport

// Message kinds 1..15 belong to the transport itself (liveness checks and the
// conformance workload in transporttest); the runtime's messages use 16 and up.
const (
	KindPing Kind = 1
	KindPong Kind = 2
)

func init() {
	register(KindPing, func() Message { return new(Ping) })
	register(KindPong, func() Message { return new(Pong) })
}

// Ping asks the receiver to answer with a Pong carrying the same Seq. It is
// used for health checks and by the transporttest conformance workload; the
// payload lets tests and benchmarks vary the frame size.
type Ping struct {
	Seq     uint64
	Payload []byte
}

// Pong answers the Ping with the same Seq.
type Pong struct {
	Seq uint64
}

func (*Ping) Kind() Kind { return KindPing }
func (*Pong) Kind() Kind { return KindPong }

func (m *Ping) MarshalWire(e *Encoder) {
	e.Uvarint(m.Seq)
	e.Bytes8(m.Payload)
}

func (m *Ping) UnmarshalWire(d *Decoder) {
	m.Seq = d.Uvarint()
	m.Payload = d.Bytes8()
}

func (m *Pong) MarshalWire(e *Encoder)   { e.Uvarint(m.Seq) }
func (m *Pong) UnmarshalWire(d *Decoder) { m.Seq = d.Uvarint() }
