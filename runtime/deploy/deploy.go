// Package deploy is the machinery of a real, multi-process raysim cluster:
// what `raysim start --head`, `raysim start --address`, `raysim status`,
// `raysim run --address` and ray.Connect share.
//
// # Shape
//
// A deployed cluster runs exactly the endpoints of an in-process cluster
// (ray.NewTCP), with the same constructors and the same endpoint IDs — GCS
// shards ray.ShardID(j) (chain replicas ray.ReplicaID(j, i) and
// ray.GCSMasterID when replicated), the global scheduler ray.SchedulerID,
// raylets ray.RayletID(i) — spread over processes. Each endpoint is one
// tcp.Host with its own listener. Two kinds of endpoint are added:
//
//   - The coordinator (CoordinatorID), on the head, listening on the head's
//     well-known port (7379 by default). It owns the cluster's address book:
//     it admits joining processes (checking their function table against the
//     head's), assigns raylet IDs (a node that rejoins under the same name
//     gets its old ID back, with a newer incarnation), publishes the book to
//     every endpoint (the whole book once, then deltas, the changes that
//     come close together in one: see Coordinator.changed), answers status
//     queries, and relays node control, link faults and trace subscriptions.
//   - An agent per non-head process (an ID in the AgentBase range, drawn at
//     random), which speaks for the process: it sends the JoinRequest (the
//     handshake needs a NodeID before the coordinator has assigned one),
//     receives the book and applies control messages (kill and restart the
//     raylet, drain it, set link faults, stream trace events). It outlives
//     the raylet it controls, so a killed raylet can be restarted.
//
// Every component endpoint is wrapped (Endpoint) so that it learns the book
// on its own loop: the wrapper points its host at every address and keeps
// its own copy of the layout's raylet list current (the GCS and the master
// broadcast to it), so components need not know the cluster is dynamic.
//
// A driver process (raysim run --address, ray.Connect) joins as a raylet
// with no resources (RoleDriver). That reuses everything a raylet already
// does for a driver — the owner's bookkeeping, retries, lineage
// reconstruction, subscriptions, pulls — exactly as in the simulator, where
// drivers live on raylets; the alternative, a dedicated driver endpoint,
// would re-implement the owner side of the raylet. The head's scheduler
// never sees a driver raylet (Directory.Filter drops its registration and
// heartbeats), so no task is ever placed on it, not even one that needs no
// resources; tasks its drivers submit spill to the global scheduler. A
// driver process that dies without a Leave is removed from the book by the
// coordinator once its agent has had no connection to the coordinator and
// the GCS has held its raylet dead, both for a grace period (see
// Coordinator.sweep): neither signal alone removes a live driver.
//
// # Security
//
// Every connection is authenticated by the tcp handshake (HMAC over a
// shared token); the cluster ID is derived from the token (ClusterID), so
// the token is the only secret to distribute. TLS with mutual
// authentication can be layered under it (TLSConfig). No code travels: a
// task names a registered function.
package deploy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	crand "crypto/rand"

	"raysim/runtime/transport"
)

// CoordinatorID is the coordinator endpoint's NodeID (ray.GCSMasterID + 1).
const CoordinatorID transport.NodeID = 1<<20 + 1<<19 + 1

// AgentBase is the start of the agents' NodeID range (agents draw their ID
// from it up, at random: NewAgentID).
const AgentBase transport.NodeID = 1 << 30

// DefaultPort is the head's coordinator port.
const DefaultPort = 7379

// TokenEnv names the environment variable that carries the token.
const TokenEnv = "RAYSIM_TOKEN"

// DefaultTokenPath is $HOME/.raysim/token.
func DefaultTokenPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".raysim", "token")
}

// GenerateToken writes a fresh random token to path (mode 0600, its
// directory 0700) and returns it. An existing file is kept and read
// instead, so restarting a head keeps its cluster's token.
func GenerateToken(path string) ([]byte, error) {
	if b, err := readTokenFile(path); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var raw [32]byte
	if _, err := crand.Read(raw[:]); err != nil {
		return nil, err
	}
	tok := []byte(hex.EncodeToString(raw[:]))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if _, err := f.Write(append(tok, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("token: %w", err)
	}
	return tok, f.Close()
}

// LoadToken reads the token from $RAYSIM_TOKEN if set, else from path
// (DefaultTokenPath when empty).
func LoadToken(path string) ([]byte, error) {
	if path == "" {
		if v := strings.TrimSpace(os.Getenv(TokenEnv)); v != "" {
			return []byte(v), nil
		}
		path = DefaultTokenPath()
	}
	b, err := readTokenFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: %w (start the head with raysim start --head, or set %s)", err, TokenEnv)
	}
	return b, nil
}

// LoadTokenFile reads the token from path only.
func LoadTokenFile(path string) ([]byte, error) {
	b, err := readTokenFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	return b, nil
}

func readTokenFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return b, nil
}

// ClusterID derives the cluster ID from the token: processes holding the
// same token are one cluster.
func ClusterID(token []byte) string {
	h := sha256.Sum256(append([]byte("raysim cluster id\x00"), token...))
	return "raysim-" + hex.EncodeToString(h[:8])
}

// TLSConfig builds a mutual-TLS configuration from PEM files: this
// process's certificate and key, and the CA that signs every member's
// certificate. Both sides present a certificate and verify the other's
// against the CA; host names are not checked (members are identified by
// the CA and the token, and dial each other by address).
func TLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		// crypto/tls's own errors say "tls: " already.
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("tls: %s: no PEM certificate found", caFile)
	}
	verify := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: peer sent no certificate")
		}
		opts := x509.VerifyOptions{Roots: pool, Intermediates: x509.NewCertPool(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		for _, c := range cs.PeerCertificates[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(opts)
		return err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		// Chains are verified by VerifyConnection (without host names).
		InsecureSkipVerify: true,
		VerifyConnection:   verify,
	}, nil
}

// FunctionDiff names the difference between the head's function table and
// a joiner's ("name=signature" lists, sorted); "" when they are equal.
func FunctionDiff(head, joiner []string) string {
	hm, jm := sigMap(head), sigMap(joiner)
	var missing, extra, differ []string
	for n, s := range hm {
		js, ok := jm[n]
		switch {
		case !ok:
			missing = append(missing, n)
		case js != s:
			differ = append(differ, fmt.Sprintf("%s (head %s, this process %s)", n, s, js))
		}
	}
	for n := range jm {
		if _, ok := hm[n]; !ok {
			extra = append(extra, n)
		}
	}
	if len(missing)+len(extra)+len(differ) == 0 {
		return ""
	}
	slices.Sort(missing)
	slices.Sort(extra)
	slices.Sort(differ)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "not registered in this process: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "not registered on the head: "+strings.Join(extra, ", "))
	}
	if len(differ) > 0 {
		parts = append(parts, "different signatures: "+strings.Join(differ, ", "))
	}
	return "function table mismatch: " + strings.Join(parts, "; ") + " (every process must run the same binary)"
}

func sigMap(list []string) map[string]string {
	m := make(map[string]string, len(list))
	for _, e := range list {
		n, s, _ := strings.Cut(e, "=")
		m[n] = s
	}
	return m
}
