package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/transport"
	"raysim/runtime/transport/tcp"
)

// testTLS is a TLS configuration for both sides of a test connection: a
// self-signed certificate the client does not verify.
func testTLS(t *testing.T) *tls.Config {
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

// listenAs runs a host of the cluster of tok as node id (a do-nothing
// component) and returns its address.
func listenAs(t *testing.T, tok []byte, id transport.NodeID, tlsCfg *tls.Config) string {
	t.Helper()
	h, err := tcp.Listen(tcp.Config{ClusterID: ClusterID(tok), Token: tok, Self: id, Listen: "127.0.0.1:0", TLS: tlsCfg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	go h.Run(ctx, func(env transport.Env) transport.Handler { return nopHandler{} })
	return h.Addr()
}

// TestJoinRefusedSaysWhy: a query (raysim status) or a join whose
// handshake the head refuses fails at once, well before its timeout, with
// ErrUnreachable and the reason in words: a wrong token, TLS on one side
// only, or a node's address given for the head's.
func TestJoinRefusedSaysWhy(t *testing.T) {
	h, tok := startCoordinator(t)
	tlsHead := listenAs(t, tok, CoordinatorID, testTLS(t))
	nodeAddr := listenAs(t, tok, 5, nil)
	const timeout = 30 * time.Second
	tests := []struct {
		name, addr string
		tok        []byte
		tls        *tls.Config
		is         error
		says       string
	}{
		{"wrong token", h.Addr(), []byte("wrong"), nil, tcp.ErrPeerWrongCluster,
			"the head refused the cluster token: copy ~/.raysim/token from the head (or its --token-file) or set RAYSIM_TOKEN"},
		{"plain client, TLS head", tlsHead, tok, nil, tcp.ErrPeerWantsTLS, "the head uses TLS and this process does not"},
		{"TLS client, plain head", h.Addr(), tok, testTLS(t), tcp.ErrPeerNoTLS, "the head does not use TLS and this process does"},
		{"a node's address", nodeAddr, tok, nil, tcp.ErrWrongPeer, nodeAddr + " is a node of the cluster, not its head: use the head's address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Status(context.Background(), QueryConfig{Address: tt.addr, Token: tt.tok, TLS: tt.tls, Timeout: timeout})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrUnreachable)
			assert.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.says)
			assert.Less(t, time.Since(start), timeout, "failed at its timeout, not on the refusal")

			// A node's or driver's join the same.
			_, err = Join(context.Background(), JoinConfig{Address: tt.addr, Token: tt.tok, TLS: tt.tls, Timeout: timeout,
				Request: transport.JoinRequest{Role: transport.RoleNode, Name: "n", Functions: []string{"f=func()"}, Addr: "127.0.0.1:1"}})
			assert.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.says)
		})
	}
	// The right token still gets an answer.
	_, err := Status(context.Background(), QueryConfig{Address: h.Addr(), Token: tok})
	require.NoError(t, err)
}

// TestPrimaryHost: the address advertised for a process listening on
// every interface is a global unicast one, IPv4 first, never loopback.
func TestPrimaryHost(t *testing.T) {
	ipnet := func(s string) net.Addr {
		_, n, err := net.ParseCIDR(s)
		require.NoError(t, err)
		n.IP, _, _ = net.ParseCIDR(s)
		return n
	}
	assert.Equal(t, "10.0.0.5", pickHost([]net.Addr{ipnet("127.0.0.1/8"), ipnet("fe80::1/64"), ipnet("2001:db8::5/64"), ipnet("10.0.0.5/24")}))
	assert.Equal(t, "2001:db8::5", pickHost([]net.Addr{ipnet("127.0.0.1/8"), ipnet("fe80::1/64"), ipnet("2001:db8::5/64")}))
	assert.Equal(t, "", pickHost([]net.Addr{ipnet("127.0.0.1/8"), ipnet("::1/128"), ipnet("fe80::1/64")}))
	if h := PrimaryHost(); h != "" { // this machine's: "" on a loopback-only one
		ip := net.ParseIP(h)
		require.NotNil(t, ip, h)
		assert.True(t, ip.IsGlobalUnicast(), h)
	}
}
