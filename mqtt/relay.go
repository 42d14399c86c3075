package mqtt

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/guan-gateway/guan/mqtt/packet"
)

// An idle client costs no goroutine where the platform allows it: when a
// side has nothing to read, its goroutine hands the socket to the idle
// poller (park_linux.go) and ends; a new goroutine continues once bytes
// arrive. TLS and TLCP clients park too, as they can say whether they hold
// bytes (holder). WebSocket and QUIC clients, which cannot, and every
// side on other platforms keep a goroutine blocked in Read.

var errBrokerGone = errors.New("broker connection ended")
var errKeepAlive = errors.New("keep-alive expired")

// copyBufs hold broker bytes only while they are being relayed.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// readers are the framing readers of both sides; a side gives its reader
// back while parked with nothing buffered, so an idle session holds none.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readerSize) }}

const readerSize = 512

// takeReader returns a framing reader on c.
func takeReader(c io.Reader) *bufio.Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(c)
	return br
}

// dropReader gives br back when it holds nothing; it returns what the
// side keeps (nil, or br when bytes are buffered).
func dropReader(br *bufio.Reader) *bufio.Reader {
	if br == nil || br.Buffered() > 0 {
		return br
	}
	br.Reset(nil)
	readers.Put(br)
	return nil
}

// relay starts both directions; it returns at once when both can park.
func (k *conn) relay() {
	if ka := k.s.KeepAlive; ka > 0 {
		d := time.Duration(ka) * 1500 * time.Millisecond // 1.5× as the spec says
		k.keepAlive = time.AfterFunc(d, func() { k.finish(errKeepAlive) })
	}
	if canPark() {
		// A client side is parked only when its connection can say it
		// holds no bytes of its own (plain TCP, or TLS read record by
		// record); the broker side is plain TCP.
		if h, ok := k.client.(holder); ok {
			k.holder, k.crc = h, rawConn(k.client)
		}
		k.brc = rawConn(k.broker)
	}
	go k.brokerLoop()
	k.clientLoop()
}

// finish ends the connection once: both sockets closed, the client told
// to move when its broker went away (MQTT 5), the session forgotten.
func (k *conn) finish(err error) {
	if !k.finished.CompareAndSwap(false, true) {
		return
	}
	if k.keepAlive != nil {
		k.keepAlive.Stop()
	}
	if k.closed.CompareAndSwap(false, true) && errors.Is(err, errBrokerGone) && k.s.Version == packet.V5 {
		// The broker went away: tell the client to come back, and it
		// lands on a live broker.
		_ = k.client.SetWriteDeadline(time.Now().Add(time.Second))
		_ = k.writeClient(packet.AppendDisconnect(nil, packet.V5, packet.RCUseAnotherServer))
	}
	unpark(k.crc)
	unpark(k.brc)
	k.client.Close()
	k.broker.Close()
	k.h.track(k, false)
	k.h.release(k.ip)
}

// holder is a connection that can say whether it holds bytes read from its
// socket that a Read has not returned yet.
type holder interface{ Holding() bool }

// idleClient reports whether the client side has nothing to read now;
// only called when k.holder is set.
func (k *conn) idleClient() bool {
	if k.br != nil && k.br.Buffered() > 0 {
		return false
	}
	if k.holder.Holding() {
		return false
	}
	return !readable(k.crc)
}

// clientLoop relays client packets to the broker until the client is idle
// (then parks) or the connection ends.
func (k *conn) clientLoop() {
	for {
		if k.finished.Load() {
			return
		}
		if k.crc != nil && k.idleClient() {
			k.br = dropReader(k.br)
			if park(k.crc, k.clientLoop) {
				return
			}
		}
		if k.br == nil {
			k.br = takeReader(k.client)
		}
		raw, hdr, err := readPacket(k.br, k.maxPacket)
		if err != nil {
			if errors.Is(err, errTooLarge) && k.s.Version == packet.V5 {
				_ = k.writeClient(packet.AppendDisconnect(nil, packet.V5, packet.RCPacketTooLarge))
			}
			k.finish(err)
			return
		}
		if k.keepAlive != nil {
			k.keepAlive.Reset(time.Duration(k.s.KeepAlive) * 1500 * time.Millisecond)
		}
		forward, err := k.fromClient(raw, hdr)
		if err != nil {
			k.finish(err)
			return
		}
		if !forward {
			continue
		}
		k.msgsIn.Add(1)
		k.bytesIn.Add(int64(len(raw)))
		k.traffic.MessagesIn.Add(1)
		k.traffic.BytesIn.Add(float64(len(raw)))
		if _, err := k.broker.Write(raw); err != nil {
			k.finish(errBrokerGone)
			return
		}
		if hdr.Type == packet.DISCONNECT {
			k.finish(io.EOF)
			return
		}
	}
}

// fromClient applies the middlewares to one client packet; it reports
// whether to forward it (possibly rewritten in place of raw by onSubscribe).
func (k *conn) fromClient(raw []byte, hdr packet.Header) (bool, error) {
	h := k.h
	switch hdr.Type {
	case packet.PUBLISH:
		return h.onPublish(k, raw, hdr)
	case packet.SUBSCRIBE:
		if len(k.hooks.subscribe) == 0 {
			return true, nil
		}
		out, err := h.onSubscribe(k, raw, hdr)
		if err != nil || out == nil {
			return false, err
		}
		if len(out) != len(raw) || &out[0] != &raw[0] {
			// Rewritten: forward the new packet instead.
			k.msgsIn.Add(1)
			k.bytesIn.Add(int64(len(out)))
			if _, err := k.broker.Write(out); err != nil {
				return false, errBrokerGone
			}
			return false, nil
		}
		return true, nil
	case packet.PUBREL:
		if k.s.droppedQoS2 != nil && hdr.Remaining >= 2 {
			id := uint16(raw[len(raw)-hdr.Remaining])<<8 | uint16(raw[len(raw)-hdr.Remaining+1])
			if k.s.droppedQoS2[id] {
				delete(k.s.droppedQoS2, id)
				return false, k.writeClient(append(packet.AppendHeader(nil, packet.PUBCOMP, 0, 2), byte(id>>8), byte(id)))
			}
		}
	case packet.PINGREQ:
		if k.route.LocalHeartbeat {
			return false, k.writeClient(packet.Pingresp)
		}
	case packet.CONNECT:
		return false, errors.New("second CONNECT")
	}
	return true, nil
}

// brokerLoop relays broker traffic to the client: framed when a SUBACK may
// need completing, copied otherwise.
func (k *conn) brokerLoop() {
	framed := k.hooks.inspects()
	for {
		if k.finished.Load() {
			return
		}
		if k.brc != nil && (k.bbr == nil || k.bbr.Buffered() == 0) && !readable(k.brc) {
			k.bbr = dropReader(k.bbr)
			if park(k.brc, k.brokerLoop) {
				return
			}
		}
		var err error
		if framed {
			err = k.brokerPacket()
		} else {
			err = k.brokerBytes()
		}
		if err != nil {
			k.finish(err)
			return
		}
	}
}

func (k *conn) brokerPacket() error {
	if k.bbr == nil {
		k.bbr = takeReader(k.broker)
	}
	raw, hdr, err := readPacket(k.bbr, k.maxPacket)
	if err != nil {
		return errBrokerGone
	}
	if hdr.Type == packet.SUBACK {
		raw = k.mergeSuback(raw, hdr)
	}
	k.traffic.MessagesOut.Add(1)
	return k.writeClient(raw)
}

// brokerBytes copies what the broker sent (at least one read's worth).
func (k *conn) brokerBytes() error {
	if k.bbr != nil && k.bbr.Buffered() > 0 {
		n := k.bbr.Buffered()
		b, _ := k.bbr.Peek(n)
		err := k.writeClient(b)
		_, _ = k.bbr.Discard(n)
		return err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	n, err := k.broker.Read(*bp)
	if n > 0 {
		if werr := k.writeClient((*bp)[:n]); werr != nil {
			return werr
		}
	}
	if err != nil {
		return errBrokerGone
	}
	return nil
}

// rawConn returns the socket of a plain TCP connection, nil otherwise.
func rawConn(c any) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
