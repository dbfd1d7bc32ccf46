package tcp

import (
	"bufio"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"

	"raysim/runtime/transport"
)

func TestHandshake(t *testing.T) {
	tests := []struct {
		name                       string
		clientCluster, serverClust string
		clientToken, serverToken   string
		want                       transport.NodeID // the node the client expects
		clientErr, serverErr       error            // serverErr nil: any error (the client hung up)
	}{
		{"ok", "c", "c", "t", "t", 2, nil, nil},
		{"wrong token, server checks", "c", "c", "t", "x", 2, ErrBadToken, nil},
		{"wrong token", "c", "c", "x", "t", 2, ErrBadToken, nil}, // the client checks first
		{"wrong cluster", "other", "c", "t", "t", 2, ErrPeerWrongCluster, ErrBadCluster},
		{"unexpected node", "c", "c", "t", "t", 3, ErrWrongPeer, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, sc := net.Pipe()
			serr := make(chan error, 1)
			var from transport.NodeID
			go func() {
				var err error
				from, err = serverHandshake(bufio.NewReader(sc), sc, tt.serverClust, []byte(tt.serverToken), 2, nil)
				sc.Close() // a refusing server hangs up
				serr <- err
			}()
			cerr := clientHandshake(bufio.NewReader(cc), cc, tt.clientCluster, []byte(tt.clientToken), 1, tt.want)
			cc.Close()
			err := <-serr
			if tt.clientErr == nil {
				assert.NoError(t, cerr)
				assert.NoError(t, err)
				assert.Equal(t, transport.NodeID(1), from)
				return
			}
			assert.ErrorIs(t, cerr, tt.clientErr, "client")
			if tt.serverErr == nil {
				assert.Error(t, err, "server")
			} else {
				assert.ErrorIs(t, err, tt.serverErr, "server")
			}
		})
	}
}

// TestHandshakeForgedProof: a client that ignores the server's proof and
// sends a forged one of its own is refused by the server.
func TestHandshakeForgedProof(t *testing.T) {
	cc, sc := net.Pipe()
	serr := make(chan error, 1)
	go func() {
		_, err := serverHandshake(bufio.NewReader(sc), sc, "c", []byte("t"), 2, nil)
		sc.Close()
		serr <- err
	}()
	me, err := newHello("c", 1)
	assert.NoError(t, err)
	cc.Write(me.append(nil))
	r := bufio.NewReader(cc)
	_, err = readHello(r, "c")
	assert.NoError(t, err)
	r.Discard(macBytes)
	cc.Write(make([]byte, macBytes))
	status, err := r.ReadByte() // the server says no rather than hang up mute
	assert.NoError(t, err)
	assert.NotEqual(t, handshakeOK, status)
	assert.ErrorIs(t, <-serr, ErrBadToken)
	cc.Close()
}
