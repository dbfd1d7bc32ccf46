package transport

import "fmt"

// Message kinds of the listing of named actors (ray.ListNamedActors).
const (
	KindGcsListNames Kind = 500 + iota
	KindNamedActors
)

// MaxListedNames bounds the names of one NamedActors answer: a shard
// lists its names a page at a time (GcsListNames.After), so an answer's
// frame stays small however many actors are named (a page is at most
// about 1.3 MB of names: MaxNamespace and MaxActorName bytes each).
const MaxListedNames = 1024

// GcsListNames asks a shard for the named actors whose names it keeps
// (Layout.ShardOfName) and that are not dead (pending, alive or
// restarting), as Ray's list_named_actors asks its GCS: those of one
// Namespace, or of every namespace when Namespace is empty. The shard
// answers NamedActors with the same Seq: the qualified names
// (QualifiedName) after After, in order, at most MaxListedNames of them.
// On a chain it is a read, answered by the tail alone (no replica
// applies or syncs it), and it reads its asker's writes: the asker's
// gcs.Client sends it only once the tail has acknowledged every write the
// asker sent the shard before it, so a listing after a creation lists it,
// as Ray's (whose named actors are registered before their creation
// returns). (Until protocol 53 it went through the chain as a write.)
type GcsListNames struct {
	Seq       uint64
	Namespace string
	After     string
}

// NamedActors answers a GcsListNames: qualified names in increasing
// order, each after the question's After; More says the shard has more
// after the last (ask again from it). The decoder checks each name, not
// their order.
type NamedActors struct {
	Seq   uint64
	Names []string
	More  bool
}

func (*GcsListNames) Kind() Kind { return KindGcsListNames }
func (*NamedActors) Kind() Kind  { return KindNamedActors }

func (m *GcsListNames) MarshalWire(e *Encoder) {
	e.Uvarint(m.Seq)
	e.String(m.Namespace)
	e.String(m.After)
}

// UnmarshalWire refuses a namespace CheckNamespace refuses (empty: every
// namespace) and an After CheckActorName refuses.
func (m *GcsListNames) UnmarshalWire(d *Decoder) {
	m.Seq = d.Uvarint()
	m.Namespace = d.String()
	if m.Namespace != "" {
		if err := CheckNamespace(m.Namespace); err != nil && d.err == nil {
			d.Fail(err)
		}
	}
	m.After = d.actorName()
}

func (m *NamedActors) MarshalWire(e *Encoder) {
	e.Uvarint(m.Seq)
	e.Bool(m.More)
	e.Uvarint(uint64(len(m.Names)))
	for _, q := range m.Names {
		e.String(q)
	}
}

// UnmarshalWire refuses more than MaxListedNames names, and a name
// CheckActorName refuses or that is empty. (The order is the lister's to
// check: node.Raylet sorts what it gathers.)
func (m *NamedActors) UnmarshalWire(d *Decoder) {
	m.Seq, m.More = d.Uvarint(), d.Bool()
	if n := d.Count(MaxListedNames, 2); n > 0 {
		m.Names = make([]string, n)
		for i := range m.Names {
			m.Names[i] = d.actorName()
			if d.err == nil && m.Names[i] == "" {
				d.Fail(fmt.Errorf("%w: listed actor name %d empty", ErrInvalid, i))
			}
		}
	}
}

func init() {
	register(KindGcsListNames, func() Message { return new(GcsListNames) })
	register(KindNamedActors, func() Message { return new(NamedActors) })
}
