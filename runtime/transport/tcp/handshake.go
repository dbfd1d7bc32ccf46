package tcp

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"raysim/runtime/transport"
)

// The handshake opens every connection before any frame crosses it. The
// dialer (client) speaks first; the token never crosses the wire, each side
// proves it knows it with an HMAC over both fresh nonces:
//
//	client -> server  hello{magic, version, cluster, client NodeID, nonceC}
//	server -> client  hello{magic, version, cluster, server NodeID, nonceS}
//	                  macS = HMAC(token, "S" | cluster | client | server | nonceC | nonceS)
//	client -> server  macC = HMAC(token, "C" | cluster | client | server | nonceC | nonceS)
//	server -> client  one byte: handshakeOK
//
// The server checks magic, version and cluster before answering and macC
// before accepting; the client checks the same, plus that the server is the
// node it meant to reach (a stale address book must not misdeliver), and
// macS, so neither side trusts a peer that does not hold the token. Labels
// "S" and "C" keep one side's proof from being replayed as the other's.
//
// A server that refuses a well-formed hello for its cluster or version,
// or a raysim client that speaks plain TCP to a TLS listener or TLS to a
// plain one, answers with a refusal before it hangs up, in place of its
// hello:
//
//	server -> client  refusal{refuseMagic, code, 0}
//
// so the dialer learns at once why (wrong token, TLS on one side only)
// instead of redialing until its timeout. A refusal is six bytes with a
// code out of a fixed list: it tells an unauthenticated peer nothing but
// that it was refused and which check failed (its cluster ID, derived
// from the token, is not ours; its protocol version; its use of TLS),
// never anything of the token. Any other failure (garbage, a bad proof)
// is closed without a word, as before. A client that fails the server's
// proof sends nothing more; a server that fails the client's sends a
// status byte other than handshakeOK.

// magic opens every connection (and tells a stray HTTP client it is in the
// wrong place).
const magic = "RSIM"

// refuseMagic opens a refusal: it takes the place of the server's hello
// (the same length as a hello's fixed part), and the TLS record header a
// TLS client reads from it (see refusalFromTLS) is not one TLS accepts.
const refuseMagic = "RSNO"

// Refusal codes (the byte after refuseMagic).
const (
	refuseCluster byte = 1 // the hello named another cluster
	refuseVersion byte = 2 // the hello's protocol version is not ours
	refuseWantTLS byte = 3 // a plain client reached a TLS listener
	refuseNoTLS   byte = 4 // a TLS client reached a plain listener
)

// refusal encodes a refusal with code.
func refusal(code byte) []byte {
	return []byte{refuseMagic[0], refuseMagic[1], refuseMagic[2], refuseMagic[3], code, 0}
}

const (
	nonceBytes           = 32
	macBytes             = sha256.Size
	maxClusterIDLen      = 255 // encoded in one byte
	handshakeOK     byte = 0x01
)

// Handshake failures; the host counts them as refused connections.
var (
	ErrBadMagic      = errors.New("tcp: bad magic")
	ErrBadVersion    = errors.New("tcp: unsupported protocol version")
	ErrBadCluster    = errors.New("tcp: wrong cluster (a peer with another token, or of another cluster)")
	ErrBadToken      = errors.New("tcp: token proof rejected")
	ErrWrongPeer     = errors.New("tcp: connected to an unexpected node")
	ErrRefusedByPeer = errors.New("tcp: peer refused the handshake")
)

// What a refusing peer said (see refusal); each comes wrapped with
// ErrRefusedByPeer. They are final: redialing with the same configuration
// gets the same answer.
var (
	ErrPeerWrongCluster = errors.New("wrong cluster (another cluster ID, or another token)")
	ErrPeerVersion      = errors.New("another protocol version")
	ErrPeerWantsTLS     = errors.New("it requires TLS and this host does not use it")
	ErrPeerNoTLS        = errors.New("it does not use TLS and this host does")
	ErrPeerUnknown      = errors.New("refusal of an unknown kind")
)

// refused wraps a server's handshake error after which it sent a
// refusal: the connection is closed gently (see lingerClose).
type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }

// refusedError is the error for a refusal with code: ErrRefusedByPeer and
// the code's own sentinel.
func refusedError(code byte) error {
	why := ErrPeerUnknown
	switch code {
	case refuseCluster:
		why = ErrPeerWrongCluster
	case refuseVersion:
		why = ErrPeerVersion
	case refuseWantTLS:
		why = ErrPeerWantsTLS
	case refuseNoTLS:
		why = ErrPeerNoTLS
	}
	return fmt.Errorf("%w: %w", ErrRefusedByPeer, why)
}

// IsFinal reports whether err, a dial's, says the peer (or whatever
// listens at its address) will refuse this host whatever it retries: it
// refused the handshake with a reason (wrong cluster, version, TLS on one
// side only), failed this host's check of its token proof, is another
// node than the one the address book names, or failed the TLS handshake
// on a certificate. A connection refused, reset or timed out, or a peer
// that hung up without a word (it may be overloaded or restarting), is
// not final. A caller that must reach one peer (a process joining its
// cluster) gives up at once on a final error rather than at its timeout.
func IsFinal(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range []error{ErrPeerWrongCluster, ErrPeerVersion, ErrPeerWantsTLS, ErrPeerNoTLS, ErrBadToken, ErrWrongPeer} {
		if errors.Is(err, e) {
			return true
		}
	}
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &alert) || errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &invalid) ||
		isRemoteTLSAlert(err)
}

// isRemoteTLSAlert reports whether err is a TLS alert the peer sent
// during the handshake (it rejected this host's certificate: "bad
// certificate", "unknown certificate authority", or "certificate
// required" when this host sent none its CA list takes). crypto/tls
// reports one as a *net.OpError of Op "remote error" around an unexported
// alert, not as a tls.AlertError (that is QUIC's). The peer's "internal
// error" alone is not final: it may be passing.
func isRemoteTLSAlert(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return false
	}
	return !strings.Contains(op.Err.Error(), "internal error")
}

// looksLikeTLS reports whether b, a connection's first bytes, open a TLS
// handshake record (content type 22, protocol major version 3).
func looksLikeTLS(b []byte) bool { return len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03 }

// refusalFromTLS turns the error of a TLS client that reached a plain
// listener and read its refusal as a TLS record header into the refusal
// it is; other errors are returned as they are.
func refusalFromTLS(err error) error {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && string(rh.RecordHeader[:len(refuseMagic)]) == refuseMagic {
		return refusedError(rh.RecordHeader[len(refuseMagic)])
	}
	return err
}

// plainClientOnTLS reports whether err, a TLS server's handshake error,
// says a plain raysim client spoke first (its hello's magic in place of a
// TLS record header), and returns the raw connection to refuse it on.
func plainClientOnTLS(err error) (net.Conn, bool) {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) && rh.Conn != nil && string(rh.RecordHeader[:len(magic)]) == magic {
		return rh.Conn, true
	}
	return nil, false
}

type hello struct {
	version uint8
	cluster string
	node    transport.NodeID
	nonce   [nonceBytes]byte
}

func newHello(cluster string, node transport.NodeID) (hello, error) {
	h := hello{version: transport.ProtocolVersion, cluster: cluster, node: node}
	_, err := rand.Read(h.nonce[:])
	return h, err
}

func (h *hello) append(b []byte) []byte {
	b = append(b, magic...)
	b = append(b, h.version, byte(len(h.cluster)))
	b = append(b, h.cluster...)
	b = binary.LittleEndian.AppendUint32(b, uint32(h.node))
	return append(b, h.nonce[:]...)
}

// readHello reads and checks a peer's hello against our cluster; it reads a
// bounded number of bytes whatever the peer sends.
func readHello(r *bufio.Reader, cluster string) (hello, error) {
	var h hello
	var fixed [6]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return h, err
	}
	if string(fixed[:4]) == refuseMagic {
		return h, refusedError(fixed[4])
	}
	if string(fixed[:4]) != magic {
		return h, ErrBadMagic
	}
	h.version = fixed[4]
	if h.version != transport.ProtocolVersion {
		return h, fmt.Errorf("%w %d", ErrBadVersion, h.version)
	}
	rest := make([]byte, int(fixed[5])+4+nonceBytes)
	if _, err := io.ReadFull(r, rest); err != nil {
		return h, err
	}
	h.cluster = string(rest[:fixed[5]])
	rest = rest[fixed[5]:]
	if h.cluster != cluster {
		return h, fmt.Errorf("%w %q", ErrBadCluster, h.cluster)
	}
	h.node = transport.NodeID(binary.LittleEndian.Uint32(rest))
	copy(h.nonce[:], rest[4:])
	return h, nil
}

func proof(token []byte, label byte, cluster string, client, server *hello) []byte {
	m := hmac.New(sha256.New, token)
	var b []byte
	b = append(b, label, byte(len(cluster)))
	b = append(b, cluster...)
	b = binary.LittleEndian.AppendUint32(b, uint32(client.node))
	b = binary.LittleEndian.AppendUint32(b, uint32(server.node))
	b = append(b, client.nonce[:]...)
	b = append(b, server.nonce[:]...)
	m.Write(b)
	return m.Sum(nil)
}

// clientHandshake runs the dialer's side over rw (deadlines are the
// caller's). want is the node the address book says lives there.
func clientHandshake(r *bufio.Reader, w io.Writer, cluster string, token []byte, self, want transport.NodeID) error {
	me, err := newHello(cluster, self)
	if err != nil {
		return err
	}
	if _, err := w.Write(me.append(nil)); err != nil {
		return err
	}
	them, err := readHello(r, cluster)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrRefusedByPeer, err) // it hung up on our hello
	}
	if err != nil {
		return err
	}
	var mac [macBytes]byte
	if _, err := io.ReadFull(r, mac[:]); err != nil {
		return err
	}
	if !hmac.Equal(mac[:], proof(token, 'S', cluster, &me, &them)) {
		return fmt.Errorf("%w (server side)", ErrBadToken)
	}
	// Checked once the peer has proved it holds the token: a wrong peer
	// is then a member of the cluster, at an address that is not want's.
	if them.node != want {
		return fmt.Errorf("%w: want node %d, got %d", ErrWrongPeer, want, them.node)
	}
	if _, err := w.Write(proof(token, 'C', cluster, &me, &them)); err != nil {
		return err
	}
	var ok [1]byte
	if _, err := io.ReadFull(r, ok[:]); err != nil {
		return fmt.Errorf("%w: %w", ErrRefusedByPeer, err)
	}
	if ok[0] != handshakeOK {
		return fmt.Errorf("%w: status %#x", ErrRefusedByPeer, ok[0])
	}
	return nil
}

// serverHandshake runs the acceptor's side and returns the authenticated
// peer's NodeID. onHello, if set, is called once the peer's hello has
// named this cluster and protocol version, before this side answers: the
// host waits there for a proof slot (see Host.acceptLoop), and an error
// from it ends the handshake.
func serverHandshake(r *bufio.Reader, w io.Writer, cluster string, token []byte, self transport.NodeID, onHello func() error) (transport.NodeID, error) {
	if b, err := r.Peek(2); err == nil && looksLikeTLS(b) {
		w.Write(refusal(refuseNoTLS)) // best effort: the caller hangs up either way
		return 0, refused{fmt.Errorf("%w: a TLS client hello, and this host does not use TLS", ErrBadMagic)}
	}
	them, err := readHello(r, cluster)
	switch {
	case errors.Is(err, ErrBadCluster):
		w.Write(refusal(refuseCluster))
		return 0, refused{err}
	case errors.Is(err, ErrBadVersion):
		w.Write(refusal(refuseVersion))
		return 0, refused{err}
	case err != nil:
		return 0, err
	}
	if onHello != nil {
		if err := onHello(); err != nil {
			return 0, err
		}
	}
	me, err := newHello(cluster, self)
	if err != nil {
		return 0, err
	}
	out := me.append(nil)
	out = append(out, proof(token, 'S', cluster, &them, &me)...)
	if _, err := w.Write(out); err != nil {
		return 0, err
	}
	var mac [macBytes]byte
	if _, err := io.ReadFull(r, mac[:]); err != nil {
		return 0, err
	}
	if !hmac.Equal(mac[:], proof(token, 'C', cluster, &them, &me)) {
		w.Write([]byte{0}) // not handshakeOK
		return 0, ErrBadToken
	}
	if _, err := w.Write([]byte{handshakeOK}); err != nil {
		return 0, err
	}
	return them.node, nil
}
