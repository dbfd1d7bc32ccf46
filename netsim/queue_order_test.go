package netsim

import (
	"cmp"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestQueuePopsInTimeSeqOrder: whatever mix of items the queue holds (at
// the time just popped, which go to its FIFO, within the current bucket,
// in the ring, beyond the horizon, in the past), it pops them in (time,
// sequence) order, as a sorted reference does.
func TestQueuePopsInTimeSeqOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q queue
		q.init()
		type key struct {
			at  int64
			seq uint64
		}
		var ref []key
		var now int64
		for i := range rapid.IntRange(1, 400).Draw(t, "ops") {
			if len(ref) > 0 && rapid.IntRange(0, 2).Draw(t, "pop") == 0 {
				var out item
				q.pop(&out)
				want := ref[0]
				ref = ref[1:]
				if out.at != want.at || uint64(out.payload.(int)) != want.seq {
					t.Fatalf("op %d: popped (%d, %v), want (%d, %d)", i, out.at, out.payload, want.at, want.seq)
				}
				now = max(now, out.at)
				continue
			}
			var at int64
			switch rapid.IntRange(0, 4).Draw(t, "when") {
			case 0, 1:
				at = now // the FIFO's case: most of a run's items
			case 2:
				at = now + rapid.Int64Range(1, 1<<17).Draw(t, "near")
			case 3:
				at = now + rapid.Int64Range(1<<17, 1<<33).Draw(t, "far")
			case 4:
				at = now - rapid.Int64Range(1, 1000).Draw(t, "past")
			}
			it := q.add(at)
			it.payload = int(q.seq)
			ref = append(ref, key{at, q.seq})
			slices.SortStableFunc(ref, func(a, b key) int {
				return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
			})
		}
		for len(ref) > 0 {
			var out item
			q.pop(&out)
			if out.at != ref[0].at || uint64(out.payload.(int)) != ref[0].seq {
				t.Fatalf("drain: popped (%d, %v), want (%d, %d)", out.at, out.payload, ref[0].at, ref[0].seq)
			}
			ref = ref[1:]
		}
	})
}
