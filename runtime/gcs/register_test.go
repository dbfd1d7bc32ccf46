package gcs

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"raysim/runtime/transport"
)

// recEnv is fakeEnv that records what the shard sends and emits.
type recEnv struct {
	fakeEnv
	sent   *[]regSent
	events *[]transport.Event
}

type regSent struct {
	to transport.NodeID
	m  transport.Message
}

func (e recEnv) Send(to transport.NodeID, m transport.Message) {
	*e.sent = append(*e.sent, regSent{to, m})
}
func (e recEnv) Emit(ev *transport.Event) { *e.events = append(*e.events, *ev) }

// TestRegistrationIsAnswered: the node table answers a registration with
// the RegisterNode itself (a raylet announces its objects and actors only
// then); a registration sent again is answered again, or with NodeDead once
// that incarnation was declared dead (it used to bring it back to life); a
// node with another function table gets no answer, and one warning per
// incarnation however often it re-sends.
func TestRegistrationIsAnswered(t *testing.T) {
	var sent []regSent
	var events []transport.Event
	l := &Layout{Shards: []transport.NodeID{10}, Scheduler: 99}
	sh := New(recEnv{fakeEnv{self: 10}, &sent, &events}, Config{Layout: l})
	to := func(n transport.NodeID) []transport.Message {
		var out []transport.Message
		for _, s := range sent {
			if s.to == n {
				out = append(out, s.m)
			}
		}
		return out
	}
	warnings := func() int {
		n := 0
		for _, ev := range events {
			if ev.Kind == transport.EvWarning {
				n++
			}
		}
		return n
	}

	reg := transport.RegisterNode{Node: 1, Incarnation: 1, Functions: 7}
	sh.Handle(1, &reg)
	assert.Equal(t, []transport.Message{&reg}, to(1), "answered with the registration")
	sh.Handle(1, &reg)
	assert.Equal(t, []transport.Message{&reg, &reg}, to(1), "a registration sent again is answered again")

	sh.Handle(10, &transport.NodeDead{Node: 1, Incarnation: 1})
	sent = nil
	sh.Handle(1, &reg)
	assert.Equal(t, []transport.Message{&transport.NodeDead{Node: 1, Incarnation: 1}}, to(1), "a dead incarnation is told so, not revived")

	other := transport.RegisterNode{Node: 2, Incarnation: 1, Functions: 8}
	for range 3 {
		sh.Handle(2, &other)
	}
	assert.Empty(t, to(2), "a refused registration is not answered")
	assert.Equal(t, 1, warnings(), "one warning for one refused incarnation")
	other.Incarnation = 2
	sh.Handle(2, &other)
	assert.Equal(t, 2, warnings(), "and one for the next")
}
