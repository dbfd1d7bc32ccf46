package node

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/objstore"
	"raysim/runtime/transport"
)

// TestPullDoesNotJoinTwoCopies: a puller holds the first chunk of one
// copy of an object (a rebuild's, say) when its source's next chunks are
// of another copy of the same size, made by another run of the task (a
// node that pulled the run before the object was freed and rebuilt
// serves it, or the run's chunks come late: reordered, or held by TCP).
// onChunk told copies apart by Total and ErrKind only, and joined them: a
// value neither run made (ray's TestLargePullsAcrossFrees saw it). The
// chunks' Sum tells them apart: the pull starts over and reads one copy.
func TestPullDoesNotJoinTwoCopies(t *testing.T) {
	const chunk = 1 << 10
	r, env := hostileRaylet(t, chunk)
	id := transport.ObjectID{Task: 77}
	one, two := bytes.Repeat([]byte{1}, 2*chunk), bytes.Repeat([]byte{2}, 2*chunk)
	served := func(data []byte, i int64) *transport.ObjectChunk {
		return &transport.ObjectChunk{Object: id, Offset: i * chunk, Total: 2 * chunk, Data: data[i*chunk : (i+1)*chunk],
			Sum: transport.ChunkSum(data, chunk)}
	}
	var got []byte
	r.need(id, waitFunc(func(e *objstore.Entry) { got = e.Value.Data }))
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 2 * chunk})
	r.Handle(7, served(two, 0))
	env.sent = nil
	r.Handle(7, served(one, 1))
	require.Zero(t, len(got), "a value made of two copies' chunks")
	var asked bool
	for _, m := range env.sent {
		if p, ok := m.(*transport.PullRequest); ok && p.Object == id {
			asked = true
		}
	}
	assert.True(t, asked, "the rest of the copy now counted is asked for at once")
	r.Handle(7, served(one, 0))
	require.True(t, bytes.Equal(one, got), "one copy's bytes, whole")
}

// TestPullFailedOvertakesItsChunks: what a TCP connection does to a pull
// whose chunks its source held past the pad budget (tcp.Config.SendPadBytes):
// the messages queued after them go first. Here the puller asked the
// source again (a probe) after the source had dropped its copy (freed):
// the source's PullFailed comes before the first copy's held chunks. The
// object table then says every copy is lost, the object is rebuilt (a
// nondeterministic task: other bytes, the same size) on the same node,
// and the pull asks it again; the first copy's late chunks come, then
// the rebuilt copy's. The late chunks started the pull's count of the
// new attempt, and the rebuilt copy's first chunk completed it: a value
// neither run made. The chunks' Sum tells the copies apart.
func TestPullFailedOvertakesItsChunks(t *testing.T) {
	const chunk = 1 << 10
	r, _ := hostileRaylet(t, chunk)
	id := transport.ObjectID{Task: 77}
	one, two := bytes.Repeat([]byte{1}, 3*chunk), bytes.Repeat([]byte{2}, 3*chunk)
	served := func(data []byte, i int64) *transport.ObjectChunk {
		return &transport.ObjectChunk{Object: id, Offset: i * chunk, Total: 3 * chunk, Data: data[i*chunk : (i+1)*chunk],
			Sum: transport.ChunkSum(data, chunk)}
	}
	var got []byte
	r.need(id, waitFunc(func(e *objstore.Entry) { got = e.Value.Data }))
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 3 * chunk})
	r.Handle(7, &transport.PullFailed{Object: id}) // ahead of chunks 0-2 of copy one, held
	r.Handle(50, &transport.ObjectLost{Object: id})
	r.Handle(50, &transport.ObjectLocated{Object: id, Node: 7, Size: 3 * chunk}) // rebuilt there
	fe := r.fetchOf(id)
	require.NotNil(t, fe)
	require.True(t, fe.pulling, "pulling the rebuilt copy")
	r.Handle(7, served(one, 1)) // copy one's held chunks, late
	r.Handle(7, served(one, 2))
	r.Handle(7, served(two, 0)) // the rebuilt copy's
	require.Zero(t, len(got), "a value made of two copies' chunks")
	r.Handle(7, served(two, 1))
	r.Handle(7, served(two, 2))
	require.True(t, bytes.Equal(two, got), "one copy's bytes, whole")
}

// TestServedSumIsTheCopysOwn: servePull takes a copy's Sum from the store,
// which computes it once per copy (objstore.Store.ChunkSum). A copy of the
// same object put after the first was dropped (a rebuild by a
// nondeterministic task: other bytes, the same size) must be served with
// its own Sum, or a puller would join chunks of the two copies.
func TestServedSumIsTheCopysOwn(t *testing.T) {
	const chunk = 1 << 10
	r, env := hostileRaylet(t, chunk)
	id := transport.ObjectID{Task: 77}
	sums := func() []uint32 {
		var out []uint32
		for _, m := range env.sent {
			if c, ok := m.(*transport.ObjectChunk); ok && c.Object == id {
				out = append(out, c.Sum)
			}
		}
		env.sent = nil
		return out
	}
	one, two := bytes.Repeat([]byte{1}, 2*chunk), bytes.Repeat([]byte{2}, 2*chunk)
	r.put(id, transport.Value{Data: one}, true)
	r.Handle(7, &transport.PullRequest{Object: id})
	require.Equal(t, []uint32{transport.ChunkSum(one, chunk), transport.ChunkSum(one, chunk)}, sums())
	r.Handle(7, &transport.PullRequest{Object: id})
	require.Equal(t, []uint32{transport.ChunkSum(one, chunk), transport.ChunkSum(one, chunk)}, sums(), "a second pull of the same copy")

	require.True(t, r.store.Delete(id))
	r.put(id, transport.Value{Data: two}, true)
	env.sent = nil
	r.Handle(7, &transport.PullRequest{Object: id})
	assert.Equal(t, []uint32{transport.ChunkSum(two, chunk), transport.ChunkSum(two, chunk)}, sums(), "the rebuilt copy was served the first copy's Sum")
}
