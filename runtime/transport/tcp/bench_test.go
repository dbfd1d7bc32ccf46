package tcp

import (
	"bufio"
	"net"
	"testing"

	"raysim/runtime/transport"
)

const (
	benchPayloadBytes = 32
	benchWindow       = 16384 // pings in flight: the sender's flow control
	benchAckEvery     = 1024  // the receiver acks every this many pings
)

// BenchmarkThroughput measures one-way small-message throughput between two
// nodes on loopback: "transport" through two Hosts (Env.Send, the peer
// writer, the reader, the inbox, the receiving loop), "raw" the same frames
// marshalled, written through a bufio.Writer on one TCP connection and read
// and unmarshalled on the other side, with no host around them.
func BenchmarkThroughput(b *testing.B) {
	b.Run("transport", benchTransport)
	b.Run("raw", benchRaw)
}

func benchTransport(b *testing.B) {
	n := uint64(b.N)
	src := listen(b, 1, "127.0.0.1:0", token)
	dst := listen(b, 2, "127.0.0.1:0", token)
	meshed(b, src, dst)
	done := make(chan struct{})
	run(b, dst, func(env transport.Env) transport.Handler {
		var got uint64
		return handlerFunc(func(from transport.NodeID, m transport.Message) {
			if _, ok := m.(*transport.Ping); !ok {
				return
			}
			got++
			if got%benchAckEvery == 0 || got == n {
				env.Send(from, &transport.Pong{Seq: got})
			}
			if got == n {
				close(done)
			}
		})
	})
	payload := make([]byte, benchPayloadBytes)
	start := make(chan struct{})
	run(b, src, func(env transport.Env) transport.Handler {
		var sent, acked uint64
		fill := func() {
			for sent < n && sent-acked < benchWindow {
				sent++
				env.Send(2, &transport.Ping{Seq: sent, Payload: payload})
			}
		}
		env.Go(func() {
			<-start
			env.Await(func(wake func()) { fill(); wake() })
		})
		return handlerFunc(func(_ transport.NodeID, m transport.Message) {
			if p, ok := m.(*transport.Pong); ok {
				acked = p.Seq
				fill()
			}
		})
	})
	b.ResetTimer()
	close(start)
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	s := src.Stats()
	if s.Dropped != 0 {
		b.Fatalf("dropped %d frames", s.Dropped)
	}
}

func benchRaw(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		r := bufio.NewReaderSize(c, readBufBytes)
		var buf []byte
		for range b.N {
			body, err := transport.ReadFrame(r, buf)
			if err != nil {
				done <- err
				return
			}
			if _, err := transport.Unmarshal(body); err != nil {
				done <- err
				return
			}
			buf = body
		}
		done <- nil
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, readBufBytes)
	payload := make([]byte, benchPayloadBytes)
	var scratch []byte
	b.ResetTimer()
	for i := range b.N {
		scratch = transport.Marshal(scratch[:0], &transport.Ping{Seq: uint64(i + 1), Payload: payload})
		if err := transport.WriteFrame(w, scratch); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkChunkPayloads measures one-way object-chunk throughput on
// loopback: 256 chunks of 1 MiB of payload (a Blob's virtual bytes) sent
// at once, as a source answers a pull, per op; "budget" with the default
// SendPadBytes (chunks past it are held and join the batch as it drains),
// "unbounded" with every chunk queued at once (as before the budget).
func BenchmarkChunkPayloads(b *testing.B) {
	b.Run("budget", func(b *testing.B) { benchChunks(b, defaultSendPadBytes) })
	b.Run("unbounded", func(b *testing.B) { benchChunks(b, 1<<62) })
}

func benchChunks(b *testing.B, padMax int64) {
	const chunks, virtual = 256, 1 << 20
	src := listen(b, 1, "127.0.0.1:0", token)
	dst := listen(b, 2, "127.0.0.1:0", token)
	src.padMax = padMax
	meshed(b, src, dst)
	done := make(chan struct{}, 1)
	run(b, dst, func(env transport.Env) transport.Handler {
		got := 0
		return handlerFunc(func(from transport.NodeID, m transport.Message) {
			if got++; got%chunks == 0 {
				done <- struct{}{}
			}
		})
	})
	send := make(chan struct{})
	run(b, src, func(env transport.Env) transport.Handler {
		env.Go(func() {
			for range send {
				env.Await(func(wake func()) {
					for i := range chunks {
						env.Send(2, &transport.ObjectChunk{Object: transport.ObjectID{Task: 1}, Offset: int64(i) * virtual,
							Total: chunks * virtual, Virtual: virtual})
					}
					wake()
				})
			}
		})
		return handlerFunc(func(transport.NodeID, transport.Message) {})
	})
	b.ResetTimer()
	for range b.N {
		send <- struct{}{}
		<-done
	}
	b.StopTimer()
	close(send)
	b.ReportMetric(float64(b.N)*chunks*virtual/b.Elapsed().Seconds()/(1<<20), "MiB/s")
	if s := src.Stats(); s.Dropped != 0 {
		b.Fatalf("dropped %d frames", s.Dropped)
	}
}
