package node

import (
	"context"
	"slices"

	"raysim/runtime/transport"
)

// nameList is one ListNamedActors in progress: the names gathered so
// far from every GCS shard, and how many shards have not finished.
type nameList struct {
	ns    string
	names []string
	left  int
	asked map[uint64]struct{} // its pages in flight (Raylet.nameLists)
	done  func()
	ended bool
}

// namesPage is one page of a listing asked of one shard: the names of
// the shard after after.
type namesPage struct {
	list  *nameList
	shard transport.NodeID
	after string
}

// ListNamedActors lists the named actors not dead (pending, alive or
// restarting) of namespace ns, or of every namespace when ns is empty,
// as Ray's list_named_actors: their qualified names
// (transport.QualifiedName), in increasing order. Names are kept on the
// GCS shards by name (Layout.ShardOfName): every shard is asked, a page
// at a time, each page again until answered (a lost answer: reask, which
// backs off). A named creation this caller submitted before is listed:
// its word to the name's shard goes first, on the same link; a chain's
// tail answers the question, a read, only once it has applied every write
// this raylet sent the shard before it (gcs.Client holds the read until
// they are acknowledged: transport.GcsListNames). ctx's
// end and a driver's abandoned cluster end the wait with their error.
func (c *Caller) ListNamedActors(ctx context.Context, ns string) (names []string, err error) {
	err = c.awaitAnswer(ctx, func(finish func(error), _ *bool) (forget func()) {
		r := c.r
		r.drainSubmits()
		l := &nameList{ns: ns, left: len(r.cfg.Layout.Shards), asked: map[uint64]struct{}{}}
		l.done = func() {
			slices.Sort(l.names)
			names = slices.Compact(l.names)
			finish(nil)
		}
		for _, shard := range r.cfg.Layout.Shards {
			r.askNames(&namesPage{list: l, shard: shard})
		}
		return func() {
			l.ended = true
			for seq := range l.asked {
				delete(r.nameLists, seq)
			}
		}
	})
	return names, err
}

// askNames asks a shard for a page of names, and asks again (the same
// question, under the same number: reask) while it is unanswered: the
// answer to any sending of it will do, however late.
func (r *Raylet) askNames(p *namesPage) {
	if r.nameLists == nil {
		r.nameLists = make(map[uint64]*namesPage)
	}
	r.nameListSeq++
	seq := r.nameListSeq
	r.nameLists[seq] = p
	p.list.asked[seq] = struct{}{}
	r.reask(func() {
		r.gcs.Send(p.shard, &transport.GcsListNames{Seq: seq, Namespace: p.list.ns, After: p.after})
	}, func() bool {
		return r.nameLists[seq] == p && !p.list.ended
	})
}

// onNamedActors takes a shard's page of names: the next page is asked
// for while the shard has more; the listing ends once every shard's last
// page is in. A second answer to a page asked again, or one of a listing
// that ended, finds none and is dropped.
func (r *Raylet) onNamedActors(m *transport.NamedActors) {
	p := r.nameLists[m.Seq]
	if p == nil {
		return
	}
	delete(r.nameLists, m.Seq)
	l := p.list
	delete(l.asked, m.Seq)
	if l.ended {
		return
	}
	for _, q := range m.Names {
		if ns, _ := transport.SplitActorName(q); q > p.after && (l.ns == "" || ns == l.ns) {
			l.names = append(l.names, q)
		}
	}
	if m.More && len(m.Names) > 0 {
		// (The shard sends them in order; the greatest, whatever came.)
		if last := slices.Max(m.Names); last > p.after {
			r.askNames(&namesPage{list: l, shard: p.shard, after: last})
			return
		}
	}
	if l.left--; l.left == 0 {
		l.ended = true
		l.done()
	}
}
