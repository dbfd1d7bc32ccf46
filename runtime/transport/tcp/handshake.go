package tcp

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

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

// magic opens every connection (and tells a stray HTTP client it is in the
// wrong place).
const magic = "RSIM"

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
	ErrBadCluster    = errors.New("tcp: wrong cluster")
	ErrBadToken      = errors.New("tcp: token proof rejected")
	ErrWrongPeer     = errors.New("tcp: connected to an unexpected node")
	ErrRefusedByPeer = errors.New("tcp: peer refused the handshake")
)

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
	if them.node != want {
		return fmt.Errorf("%w: want node %d, got %d", ErrWrongPeer, want, them.node)
	}
	var mac [macBytes]byte
	if _, err := io.ReadFull(r, mac[:]); err != nil {
		return err
	}
	if !hmac.Equal(mac[:], proof(token, 'S', cluster, &me, &them)) {
		return fmt.Errorf("%w (server side)", ErrBadToken)
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
// peer's NodeID.
func serverHandshake(r *bufio.Reader, w io.Writer, cluster string, token []byte, self transport.NodeID) (transport.NodeID, error) {
	them, err := readHello(r, cluster)
	if err != nil {
		return 0, err
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
		return 0, ErrBadToken
	}
	if _, err := w.Write([]byte{handshakeOK}); err != nil {
		return 0, err
	}
	return them.node, nil
}
