package gcs

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// tcpEndpoint is one endpoint of a loopback TCP chain: its host, the
// handler it runs, and a way to run code on its loop.
type tcpEndpoint struct {
	h      *tcp.Host
	env    transport.Env
	cancel context.CancelFunc
	done   chan struct{}
	rep    *Replica // replicas
	cl     *Client  // the writer
}

// do runs f on the endpoint's loop and waits for it.
func (e *tcpEndpoint) do(t *testing.T, f func()) {
	t.Helper()
	ch := make(chan struct{})
	e.env.Post(func() { f(); close(ch) })
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("endpoint loop did not answer within 10s")
	}
}

type clientHandler struct{ c *Client }

func (h clientHandler) Handle(from transport.NodeID, m transport.Message) { h.c.Handle(from, m) }

type tcpChain struct {
	t       *testing.T
	l       *Layout
	cluster string
	token   []byte
	mu      sync.Mutex
	eps     map[transport.NodeID]*tcpEndpoint
	stores  map[transport.NodeID]*MemStore
}

func (c *tcpChain) start(id transport.NodeID, ctor func(env transport.Env) transport.Handler) *tcpEndpoint {
	t := c.t
	h, err := tcp.Listen(tcp.Config{ClusterID: c.cluster, Token: c.token, Self: id, Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	e := &tcpEndpoint{h: h, cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	c.eps[id] = e
	for oid, o := range c.eps {
		o.h.SetPeer(id, h.Addr())
		h.SetPeer(oid, o.h.Addr())
	}
	c.mu.Unlock()
	ready := make(chan struct{})
	go func() {
		defer close(e.done)
		h.Run(ctx, func(env transport.Env) transport.Handler {
			e.env = env
			hd := ctor(env)
			switch x := hd.(type) {
			case *Replica:
				e.rep = x
			case clientHandler:
				e.cl = x.c
			}
			close(ready)
			return hd
		})
	}()
	<-ready
	return e
}

func (c *tcpChain) kill(id transport.NodeID) {
	c.mu.Lock()
	e := c.eps[id]
	delete(c.eps, id)
	c.mu.Unlock()
	e.cancel()
	e.h.Close()
	<-e.done
}

func (c *tcpChain) close() {
	c.mu.Lock()
	ids := make([]transport.NodeID, 0, len(c.eps))
	for id := range c.eps {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.kill(id)
	}
}

func (c *tcpChain) startReplica(i int, rejoin bool) *tcpEndpoint {
	id := replicaID(i)
	st := NewMemStore()
	c.stores[id] = st
	return c.start(id, func(env transport.Env) transport.Handler {
		return NewReplica(env, ReplicaConfig{Index: 0, Rejoin: rejoin, Incarnation: uint64(time.Now().UnixNano()),
			Shard: Config{Layout: c.l, Store: st}})
	})
}

// TestChainTCPRejoinMultiPartSnapshot: a 3-replica chain on
// loopback TCP whose shard holds ~12 MB (several snapshot parts); the tail
// is killed, restarts with an empty store and rejoins. Writes continue,
// the joiner syncs from a multi-part snapshot and ends with the same task
// table as the head.
func TestChainTCPRejoinMultiPartSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("loopback TCP")
	}
	l := &Layout{Master: tMaster, Scheduler: 99, Raylets: []transport.NodeID{tClient}}
	chain := []transport.NodeID{replicaID(0), replicaID(1), replicaID(2)}
	l.Shards, l.Chains = []transport.NodeID{chain[0]}, [][]transport.NodeID{chain}
	c := &tcpChain{t: t, l: l, cluster: "review11", token: []byte("review11-token-0123456789abcdef"),
		eps: map[transport.NodeID]*tcpEndpoint{}, stores: map[transport.NodeID]*MemStore{}}
	defer c.close()
	c.start(tMaster, func(env transport.Env) transport.Handler {
		return NewMaster(env, MasterConfig{Layout: l, Timeout: time.Second})
	})
	for i := range chain {
		c.startReplica(i, false)
	}
	w := c.start(tClient, func(env transport.Env) transport.Handler { return clientHandler{NewClient(env, l)} })

	big := strings.Repeat("x", 40<<10)
	next := 1
	write := func(n int) {
		w.do(t, func() {
			for range n {
				id := transport.TaskID(next)
				next++
				w.cl.Send(l.Shards[0], &transport.GcsAddTask{Spec: transport.TaskSpec{ID: id, NumReturns: 1,
					Func: "f", Name: fmt.Sprint(id, big), Owner: tClient}})
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	pending := func() (n int) { w.do(t, func() { n = w.cl.Pending() }); return }
	for range 6 {
		write(50)
		waitFor("the first writes acknowledged", func() bool { return pending() == 0 })
	}

	// The tail dies; writes go on while the master removes it.
	c.kill(replicaID(2))
	write(20)
	waitFor("writes acknowledged by the two-member chain", func() bool { return pending() == 0 })
	// It restarts with an empty store and rejoins.
	j := c.startReplica(2, true)
	for range 5 {
		write(10)
		time.Sleep(50 * time.Millisecond)
	}
	serving := func() (ok bool) { j.do(t, func() { ok = j.rep.Serving() }); return }
	waitFor("the joiner to sync", serving)
	write(20)
	waitFor("every write acknowledged", func() bool { return pending() == 0 })

	head := c.eps[replicaID(0)]
	var want, got map[string]int
	tasks := func(e *tcpEndpoint, st *MemStore) (m map[string]int) {
		e.do(t, func() {
			m = map[string]int{}
			st.Scan(TableTasks, func(k, v []byte) bool { m[string(k)] = len(v); return true })
		})
		return
	}
	want, got = tasks(head, c.stores[replicaID(0)]), tasks(j, c.stores[replicaID(2)])
	require.Equal(t, next-1, len(want))
	require.Equal(t, want, got, "the joiner's task table differs from the head's")
	for _, id := range []transport.NodeID{replicaID(0), replicaID(1)} {
		t.Logf("%d: %+v", id, c.eps[id].h.Stats())
	}
}
