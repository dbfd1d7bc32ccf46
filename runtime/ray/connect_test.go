package ray_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"raysim/runtime/deploy"
	"raysim/runtime/ray"
	"raysim/runtime/transport"
)

func deployRegistry() (*ray.Registry, *ray.Func[int]) {
	reg := ray.NewRegistry()
	sq := ray.Register1(reg, "sq", func(ctx context.Context, x int) (int, error) { return x * x, nil })
	return reg, sq
}

// startDeployed starts a head and one node in this process (each endpoint
// on its own loopback listener, exactly as separate processes would).
func startDeployed(t *testing.T, tok []byte, tlsFor func(name string) *tls.Config) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	reg, _ := deployRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, TLS: tlsFor("head"),
		Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { head.Close() })
	n, err := ray.JoinNode(ctx, ray.DeployConfig{Address: head.Addr(), Token: tok, TLS: tlsFor("node"), Name: "w0",
		Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	return head.Addr()
}

func runSquares(t *testing.T, s *ray.Session, sq *ray.Func[int]) {
	t.Helper()
	err := s.Run(func(ctx context.Context) error {
		var refs []ray.Ref[int]
		for i := 0; i < 40; i++ {
			refs = append(refs, sq.Remote(ctx, i))
		}
		vs, err := ray.GetAll(ctx, refs, 10*time.Second)
		if err != nil {
			return err
		}
		for i, v := range vs {
			if v != i*i {
				t.Errorf("sq(%d) = %d", i, v)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

func TestConnect(t *testing.T) {
	tok := []byte("connect-test-token")
	addr := startDeployed(t, tok, func(string) *tls.Config { return nil })
	ctx := context.Background()

	reg, sq := deployRegistry()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg))
	require.NoError(t, err)
	defer s.Close()
	runSquares(t, s, sq)

	st, err := s.Status(ctx)
	require.NoError(t, err)
	roles := map[string]uint8{}
	for _, n := range st.Nodes {
		roles[n.Name] = n.Role
	}
	assert.Equal(t, transport.RoleNode, roles["head"])
	assert.Equal(t, transport.RoleNode, roles["w0"])
	assert.Len(t, st.Nodes, 3, "head, w0 and this driver")

	t.Run("function table mismatch", func(t *testing.T) {
		other := ray.NewRegistry()
		ray.Register1(other, "sq", func(ctx context.Context, x int64) (int64, error) { return x * x, nil })
		ray.Register0(other, "extra", func(ctx context.Context) (int, error) { return 1, nil })
		_, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(other))
		require.ErrorIs(t, err, deploy.ErrRefused)
		assert.ErrorContains(t, err, "not registered on the head: extra")
		assert.ErrorContains(t, err, "different signatures: sq")
	})
	t.Run("wrong token", func(t *testing.T) {
		_, err := ray.Connect(ctx, addr, ray.WithToken([]byte("wrong")), ray.WithRegistry(reg),
			ray.WithDeployConfig(func(dc *ray.DeployConfig) { dc.JoinTimeout = 500 * time.Millisecond }))
		require.ErrorIs(t, err, deploy.ErrUnreachable)
	})
	// The cluster still serves after the refusals.
	runSquares(t, s, sq)
}

// TestConnectTLS: every connection in mutual TLS under the token; a
// process whose certificate another CA signed is refused.
func TestConnectTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, dir, "ca")
	tlsFor := func(name string) *tls.Config {
		cert, key := issue(t, dir, name, ca, caKey)
		c, err := deploy.TLSConfig(cert, key, filepath.Join(dir, "ca.pem"))
		require.NoError(t, err)
		return c
	}
	tok := []byte("tls-test-token")
	addr := startDeployed(t, tok, tlsFor)
	ctx := context.Background()
	reg, sq := deployRegistry()
	s, err := ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg), ray.WithTLS(tlsFor("driver")))
	require.NoError(t, err)
	defer s.Close()
	runSquares(t, s, sq)

	// A client of another CA, or without TLS, is refused.
	odir := t.TempDir()
	oca, ocaKey := newCA(t, odir, "ca")
	cert, key := issue(t, odir, "intruder", oca, ocaKey)
	bad, err := deploy.TLSConfig(cert, key, filepath.Join(odir, "ca.pem"))
	require.NoError(t, err)
	short := ray.WithDeployConfig(func(dc *ray.DeployConfig) { dc.JoinTimeout = 500 * time.Millisecond })
	// The head's rejection of a client certificate (its alert:
	// "certificate required", the client having none the head's CA list
	// takes) is final: the join says so at once, not at its timeout.
	// Its CA list is the cluster's, its certificate another CA's.
	rogue, err := deploy.TLSConfig(cert, key, filepath.Join(dir, "ca.pem"))
	require.NoError(t, err)
	long := ray.WithDeployConfig(func(dc *ray.DeployConfig) { dc.JoinTimeout = time.Minute })
	_, err = ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg), ray.WithTLS(rogue), long)
	require.ErrorIs(t, err, deploy.ErrUnreachable)
	assert.ErrorContains(t, err, "every process needs a certificate signed by the cluster's CA")
	_, err = ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg), ray.WithTLS(bad), short)
	require.ErrorIs(t, err, deploy.ErrUnreachable)
	_, err = ray.Connect(ctx, addr, ray.WithToken(tok), ray.WithRegistry(reg), short)
	require.ErrorIs(t, err, deploy.ErrUnreachable)
	runSquares(t, s, sq)
}

func newCA(t *testing.T, dir, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	writePEM(t, filepath.Join(dir, name+".pem"), "CERTIFICATE", der)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, key
}

func issue(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	writePEM(t, keyPath, "EC PRIVATE KEY", kb)
	return certPath, keyPath
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

// TestConnectHeadLost: a driver program of the user's own, blocked in Get
// when the head goes away, ends with ErrHeadLost after the head timeout
// instead of waiting forever; later calls that need the cluster fail at
// once with it, and the session says so.
func TestConnectHeadLost(t *testing.T) {
	tok := []byte("head-lost-token")
	ctx := context.Background()
	reg, sq := deployRegistry()
	head, err := ray.StartHead(ctx, ray.DeployConfig{Listen: "127.0.0.1:0", Token: tok, Node: ray.NodeConfig{CPUs: 2}}, reg)
	require.NoError(t, err)
	defer head.Close()
	s, err := ray.Connect(ctx, head.Addr(), ray.WithToken(tok), ray.WithRegistry(reg), ray.WithHeadTimeout(time.Second))
	require.NoError(t, err)
	defer s.Close()
	runSquares(t, s, sq) // the cluster works

	blocked := make(chan struct{})
	err = s.Run(func(ctx context.Context) error {
		// No node has this resource: the task stays pending, its Get blocks.
		ref := sq.Options(ray.Resource("nowhere", 1)).Remote(ctx, 3)
		put, err := ray.Put(ctx, 9)
		require.NoError(t, err)
		go func() {
			time.Sleep(200 * time.Millisecond)
			close(blocked)
			head.Close()
		}()
		_, err = ray.Get(ctx, ref)
		require.ErrorIs(t, err, ray.ErrHeadLost)
		assert.ErrorContains(t, err, head.Addr())

		_, _, err = ray.Wait(ctx, []ray.Ref[int]{sq.Remote(ctx, 4)}, 1, -1)
		require.ErrorIs(t, err, ray.ErrHeadLost, "a later Wait fails at once")
		ready, _, err := ray.Wait(ctx, []ray.Ref[int]{put}, 1, -1)
		require.NoError(t, err, "a Wait this node answers alone does not need the head")
		assert.Len(t, ready, 1)
		v, err := ray.Get(ctx, put)
		require.NoError(t, err, "nor does a Get from its store")
		assert.Equal(t, 9, v)
		_, err = ray.Get(ctx, sq.Remote(ctx, 5))
		require.ErrorIs(t, err, ray.ErrHeadLost, "and a later Get")
		return nil
	})
	require.NoError(t, err)
	<-blocked
	select {
	case <-s.HeadLost():
	default:
		t.Fatal("the session does not say it lost its head")
	}
	require.ErrorIs(t, s.Err(), ray.ErrHeadLost)
}
