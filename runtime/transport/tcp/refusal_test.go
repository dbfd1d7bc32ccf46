package tcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
)

// selfSignedTLS is a TLS configuration for both sides of a test: a
// self-signed certificate, not verified by the client.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
}

// firstDialError runs a host of cfg that sends one message to node want
// at addr and returns the first error its dials report.
func firstDialError(t *testing.T, cfg Config, want transport.NodeID, addr string) error {
	t.Helper()
	errs := make(chan error, 1)
	cfg.Listen = "127.0.0.1:0"
	cfg.OnDialError = func(peer transport.NodeID, err error) {
		if peer == want {
			select {
			case errs <- err:
			default:
			}
		}
	}
	h, err := Listen(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	h.SetPeer(want, addr)
	run(t, h, func(env transport.Env) transport.Handler {
		env.After(0, func() { env.Send(want, &transport.Ping{Seq: 1}) })
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	select {
	case err := <-errs:
		return err
	case <-time.After(guard):
		t.Fatal("no dial error reported")
		return nil
	}
}

// TestDialerLearnsWhyItWasRefused: a dialer refused for its cluster (its
// token, in a deployed cluster), for using TLS against a plain listener
// or plain TCP against a TLS one, or that reached another node than the
// one it meant, gets an error saying so on its first dial, and IsFinal
// holds for it; a connection refused by the system is not final.
func TestDialerLearnsWhyItWasRefused(t *testing.T) {
	plain := listen(t, 1, "127.0.0.1:0", token)
	run(t, plain, func(env transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	secure, err := Listen(Config{ClusterID: cluster, Token: token, Self: 1, Listen: "127.0.0.1:0", TLS: selfSignedTLS(t)})
	require.NoError(t, err)
	t.Cleanup(func() { secure.Close() })
	run(t, secure, func(env transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})

	tests := []struct {
		name  string
		cfg   Config
		want  transport.NodeID
		addr  string
		is    error
		final bool
	}{
		{"wrong cluster", Config{ClusterID: "other", Token: token, Self: 9}, 1, plain.Addr(), ErrPeerWrongCluster, true},
		{"wrong token, same cluster", Config{ClusterID: cluster, Token: []byte("wrong"), Self: 9}, 1, plain.Addr(), ErrBadToken, true},
		{"plain client, TLS listener", Config{ClusterID: cluster, Token: token, Self: 9}, 1, secure.Addr(), ErrPeerWantsTLS, true},
		{"TLS client, plain listener", Config{ClusterID: cluster, Token: token, Self: 9, TLS: selfSignedTLS(t)}, 1, plain.Addr(), ErrPeerNoTLS, true},
		{"another node", Config{ClusterID: cluster, Token: token, Self: 9}, 3, plain.Addr(), ErrWrongPeer, true},
		{"connection refused", Config{ClusterID: cluster, Token: token, Self: 9}, 1, refusingAddr(t), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := firstDialError(t, tt.cfg, tt.want, tt.addr)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Equal(t, tt.final, IsFinal(err), "IsFinal(%v)", err)
		})
	}
	// The TLS listener still serves a TLS member after the refusals.
	cfg := Config{ClusterID: cluster, Token: token, Self: 8, TLS: selfSignedTLS(t)}
	cfg.Listen = "127.0.0.1:0"
	h, err := Listen(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	h.SetPeer(1, secure.Addr())
	run(t, h, func(env transport.Env) transport.Handler {
		env.After(0, func() { env.Send(1, &transport.Ping{Seq: 1}) })
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	require.Eventually(t, func() bool { return secure.ConnectedFrom(8) }, guard, time.Millisecond)
}

// TestRefusalSaysNothingMore: what an unauthenticated peer hears from a
// refusing host is the six-byte refusal and nothing else (no hello, no
// proof, nothing of the token), then the end of the connection; garbage
// hears nothing at all.
func TestRefusalSaysNothingMore(t *testing.T) {
	a := listen(t, 1, "127.0.0.1:0", token)
	run(t, a, func(env transport.Env) transport.Handler {
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	hear := func(send []byte) []byte {
		c, err := net.Dial("tcp", a.Addr())
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(guard))
		c.Write(send)
		b, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the host did not hang up")
		}
		return b
	}
	other, err := newHello("other", 5)
	require.NoError(t, err)
	assert.Equal(t, refusal(refuseCluster), hear(other.append(nil)), "another cluster")

	future, err := newHello(cluster, 5)
	require.NoError(t, err)
	future.version = transport.ProtocolVersion + 1
	assert.Equal(t, refusal(refuseVersion), hear(future.append(nil)), "another version")

	clientHello := append([]byte{0x16, 0x03, 0x01}, binary.BigEndian.AppendUint16(nil, 4)...)
	assert.Equal(t, refusal(refuseNoTLS), hear(append(clientHello, 1, 0, 0, 0)), "a TLS client")

	assert.Empty(t, hear([]byte("GET / HTTP/1.1\r\n\r\n")), "garbage")
	require.Eventually(t, func() bool { return a.Stats().Refused >= 4 }, guard, time.Millisecond)
}

// TestIsFinalPeerTLSAlert: a TLS alert the peer sent in the handshake
// comes back from crypto/tls as a *net.OpError of Op "remote error" (not
// a tls.AlertError): it says the peer rejected this host's certificate,
// and is final (a join used to retry it until its timeout); the peer's
// "internal error" alert is not.
func TestIsFinalPeerTLSAlert(t *testing.T) {
	alert := func(text string) error {
		return fmt.Errorf("handshake with 127.0.0.1:1: %w", &net.OpError{Op: "remote error", Err: errors.New(text)})
	}
	assert.True(t, IsFinal(alert("tls: certificate required")))
	assert.True(t, IsFinal(alert("tls: bad certificate")))
	assert.True(t, IsFinal(alert("tls: unknown certificate authority")))
	assert.False(t, IsFinal(alert("tls: internal error")))
	assert.False(t, IsFinal(&net.OpError{Op: "dial", Err: errors.New("connection refused")}))
}
