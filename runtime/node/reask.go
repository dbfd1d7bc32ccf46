package node

import "time"

// reaskMax caps the wait between two sendings of a question (reask): it
// is sent at once, then after 1 s, 2 s, and every 4 s from then on.
const reaskMax = lookupTimeout << 2

// reask sends a question to the GCS (send) and sends it again while it is
// open, waiting lookupTimeout at first and twice as long each time after,
// up to reaskMax; the cluster abandoned, it stops. It is the same question
// each time (one name, one sequence number): any answer to it closes it,
// however late it comes, so a GCS slower to answer than lookupTimeout is
// waited for, never asked past (regression list-names-slow-gcs: a listing
// asked each page again under a new number and dropped the answers to the
// old, and against a GCS 1.2 s away it never ended). A question is sent
// again only for an answer that may be lost — a chain replica's
// connection dies with the reply of a request the chain has applied, and
// the chain does not reply to it again — and backing off keeps a slow GCS
// from being flooded with copies, which only makes it slower.
func (r *Raylet) reask(send func(), open func() bool) {
	send()
	r.reaskAfter(lookupTimeout, send, open)
}

func (r *Raylet) reaskAfter(wait time.Duration, send func(), open func() bool) {
	r.env.After(wait, func() {
		if r.abandon.err != nil || !open() {
			return
		}
		send()
		r.reaskAfter(min(2*wait, reaskMax), send, open)
	})
}
