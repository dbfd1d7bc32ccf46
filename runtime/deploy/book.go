package deploy

import (
	"slices"
	"time"

	"raysim/runtime/gcs"
	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// askAgain is how long an endpoint that asked for the full address book
// waits for it before it asks again on the next delta it cannot apply (the
// request or the answer may be lost with a broken connection).
const askAgain = time.Second

// bookCopy is an endpoint's copy of the coordinator's address book, kept
// current by its publications (transport.AddressBook): a full book, then
// deltas, each following on from the one before. A delta that does not
// follow on (a frame lost with a broken connection, or an endpoint that
// started after the publications it missed, as a restarted raylet does)
// makes the endpoint ask for the full book (transport.BookRequest).
type bookCopy struct {
	epoch   uint64
	entries map[transport.NodeID]transport.BookEntry
	asked   time.Time // when the full book was last asked for (zero: not since one came)
	// rays lists the copy's raylets in ID order, kept by each delta
	// (applyDelta) rather than rebuilt from entries: a burst of joins
	// sends every endpoint many deltas, and rebuilding (a walk of the
	// map and a sort) cost O(N log N) each. It is copied on write: a
	// slice handed out (Layout.Raylets) never changes.
	rays []transport.NodeID
}

// isRaylet reports whether e is a raylet's entry (a node's or a
// driver's).
func isRaylet(e transport.BookEntry) bool {
	return e.Role == transport.RoleNode || e.Role == transport.RoleDriver
}

// applyDelta applies delta m's changes to the copy, its removals first,
// then its entries, pointing h (may be nil) at the entries and making it
// forget the removed; it reports whether rays changed. A delta may carry
// many changes (the coordinator publishes the joins and leaves of a
// burst together, see Coordinator.changed): rays is rebuilt once, by a
// merge of the raylets the delta touched into it (O(N + k log k) for k
// changes), not copied once a change.
func (b *bookCopy) applyDelta(h *tcp.Host, m *transport.AddressBook) bool {
	var touched []transport.NodeID // IDs that were or are raylets
	for _, id := range m.Removed {
		old, had := b.entries[id]
		if !had {
			continue
		}
		delete(b.entries, id)
		if h != nil {
			h.ForgetPeer(id)
		}
		if isRaylet(old) {
			touched = append(touched, id)
		}
	}
	for _, e := range m.Entries {
		old, had := b.entries[e.Node]
		b.entries[e.Node] = e
		if h != nil && e.Addr != "" {
			h.SetPeer(e.Node, e.Addr)
		}
		if was := had && isRaylet(old); was != isRaylet(e) {
			touched = append(touched, e.Node)
		}
	}
	if len(touched) == 0 {
		return false
	}
	b.rays = mergeRays(b.rays, touched, b.entries)
	return true
}

// mergeRays returns, in a new array (rays is copied on write: a slice
// handed out never changes), the sorted raylet list rays with each ID of
// touched in it if entries holds it as a raylet, and out of it if not.
func mergeRays(rays, touched []transport.NodeID, entries map[transport.NodeID]transport.BookEntry) []transport.NodeID {
	slices.Sort(touched)
	touched = slices.Compact(touched)
	out := make([]transport.NodeID, 0, len(rays)+len(touched))
	i, j := 0, 0
	for i < len(rays) || j < len(touched) {
		if j == len(touched) || i < len(rays) && rays[i] < touched[j] {
			out = append(out, rays[i])
			i++
			continue
		}
		id := touched[j]
		j++
		if i < len(rays) && rays[i] == id {
			i++
		}
		if e, ok := entries[id]; ok && isRaylet(e) {
			out = append(out, id)
		}
	}
	return out
}

// apply takes publication m from the coordinator: it points h at the new
// endpoints and makes it forget the removed ones (h may be nil), and sets
// l.Raylets to the book's raylets (l may be nil). It returns whether the
// book changed, and whether the caller should ask the coordinator for the
// full book now (m is a delta that does not follow on from the copy, and
// no request is outstanding).
func (b *bookCopy) apply(h *tcp.Host, l *gcs.Layout, m *transport.AddressBook, now time.Time) (changed, ask bool) {
	switch {
	case m.Epoch <= b.epoch:
		return false, false // older news (or a repeat)
	case m.Full:
		b.replace(h, m.Epoch, m.Entries)
	case m.Epoch == b.epoch+1:
		b.epoch = m.Epoch
		if b.entries == nil {
			b.entries = make(map[transport.NodeID]transport.BookEntry, len(m.Entries))
		}
		rays := b.applyDelta(h, m)
		if l != nil && (rays || l.Raylets == nil) {
			l.Raylets = b.rays
		}
		return true, false
	default:
		if !b.asked.IsZero() && now.Sub(b.asked) < askAgain {
			return false, false
		}
		b.asked = now
		return false, true
	}
	if l != nil {
		l.Raylets = b.rays
	}
	return true, false
}

// BookSource returns a full address book and its epoch, as a process
// holds it outside the endpoint asking (its agent's copy): a copy that
// a delta does not follow on from seeds itself from it before it asks
// the coordinator (see bookCopy.follow).
type BookSource func() (epoch uint64, entries []transport.BookEntry)

// follow takes publication m from the coordinator, on the loop of env
// (nil: no clock, and no request is sent), for a component's Endpoint
// and for a process's Agent alike: it applies m (apply), pointing h (may
// be nil) at the book and keeping l.Raylets (l may be nil) current. When
// m does not follow on from the copy, the copy first takes seed's book
// (seed may be nil) if that is newer, and applies m to it: a raylet
// restarted in a live process starts from its agent's book and follows
// on from it, without asking the head. Only a copy that still does not
// follow on asks the coordinator for the full book (BookRequest). It
// returns whether the copy changed.
func (b *bookCopy) follow(env transport.Env, h *tcp.Host, l *gcs.Layout, m *transport.AddressBook, seed BookSource) bool {
	var now time.Time
	if env != nil {
		now = env.Now()
	}
	changed, ask := b.apply(h, l, m, now)
	if ask && seed != nil {
		if epoch, es := seed(); epoch > b.epoch && len(es) > 0 {
			b.replace(h, epoch, es)
			if l != nil {
				l.Raylets = b.rays
			}
			_, ask = b.apply(h, l, m, now)
			changed = true
		}
	}
	if ask && env != nil {
		env.Send(CoordinatorID, &transport.BookRequest{Have: b.epoch})
	}
	return changed
}

// replace makes the copy the full book es as of epoch (from a full
// publication or a join reply): h follows it, forgetting the endpoints
// the copy had that es lacks.
func (b *bookCopy) replace(h *tcp.Host, epoch uint64, es []transport.BookEntry) {
	now := make(map[transport.NodeID]transport.BookEntry, len(es))
	for _, e := range es {
		now[e.Node] = e
	}
	for _, id := range b.ids() { // sorted: the forgets happen in one order
		if _, ok := now[id]; !ok && h != nil {
			h.ForgetPeer(id)
		}
	}
	ApplyBook(h, nil, es)
	b.entries, b.epoch, b.asked = now, epoch, time.Time{}
	b.rays = b.raylets()
}

// ids lists the copy's endpoints in ID order.
func (b *bookCopy) ids() []transport.NodeID {
	out := make([]transport.NodeID, 0, len(b.entries))
	for id := range b.entries {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// list returns the copy's entries in ID order.
func (b *bookCopy) list() []transport.BookEntry {
	out := make([]transport.BookEntry, 0, len(b.entries))
	for _, id := range b.ids() {
		out = append(out, b.entries[id])
	}
	return out
}

// raylets lists the copy's raylets in ID order, from entries (rays
// keeps the list between full books).
func (b *bookCopy) raylets() []transport.NodeID {
	var out []transport.NodeID
	for id, e := range b.entries {
		if isRaylet(e) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// bookDelta returns the publication that turns book old into book now,
// numbered epoch: the entries of now that old lacks or holds otherwise,
// and the IDs of old that now lacks, in ID order.
func bookDelta(epoch uint64, old, now map[transport.NodeID]transport.BookEntry) *transport.AddressBook {
	m := &transport.AddressBook{Epoch: epoch}
	for id, e := range now {
		if o, ok := old[id]; !ok || o != e {
			m.Entries = append(m.Entries, e)
		}
	}
	for id := range old {
		if _, ok := now[id]; !ok {
			m.Removed = append(m.Removed, id)
		}
	}
	slices.SortFunc(m.Entries, func(a, b transport.BookEntry) int { return int(a.Node) - int(b.Node) })
	slices.Sort(m.Removed)
	return m
}
