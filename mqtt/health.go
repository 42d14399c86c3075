package mqtt

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/mqtt/packet"
)

// HealthCheck probes each broker of a service: a TCP connection, then a
// CONNECT that must be answered by an accepting CONNACK within Timeout.
type HealthCheck struct {
	Interval time.Duration
	Timeout  time.Duration
}

// health is the up/down state of a service's brokers, shared with order().
type health struct {
	down atomic.Pointer[map[string]bool]
	stop chan struct{}
	once sync.Once
}

// StartHealthChecks probes the brokers every hc.Interval until Close; a
// broker that fails is left out of new connections until it passes again.
func (s *Service) StartHealthChecks(hc HealthCheck, log *slog.Logger) {
	if hc.Timeout <= 0 {
		hc.Timeout = min(5*time.Second, hc.Interval)
	}
	s.health = &health{stop: make(chan struct{})}
	empty := map[string]bool{}
	s.health.down.Store(&empty)
	go func() {
		t := time.NewTicker(hc.Interval)
		defer t.Stop()
		for {
			down := map[string]bool{}
			for _, addr := range s.Servers {
				if err := probe(addr, hc.Timeout); err != nil {
					down[addr] = true
					if prev := *s.health.down.Load(); !prev[addr] && log != nil {
						log.Warn("MQTT broker down", "service", s.Name, "broker", addr, "error", err)
					}
				} else if prev := *s.health.down.Load(); prev[addr] && log != nil {
					log.Info("MQTT broker up again", "service", s.Name, "broker", addr)
				}
			}
			s.health.down.Store(&down)
			select {
			case <-s.health.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the health checks (the service left the configuration).
func (s *Service) Close() error {
	if s.health != nil {
		s.health.once.Do(func() { close(s.health.stop) })
	}
	return nil
}

// Up reports whether the health check last saw addr answer.
func (s *Service) Up(addr string) bool {
	if s.health == nil {
		return true
	}
	return !(*s.health.down.Load())[addr]
}

var probeSeq atomic.Uint64

func probe(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	cp := packet.Connect{ProtocolName: "MQTT", Version: packet.V311, CleanStart: true,
		ClientID: fmt.Sprintf("guan-health-%d", probeSeq.Add(1))}
	if _, err := c.Write(cp.Append(nil)); err != nil {
		return err
	}
	raw, hdr, err := readPacket(bufio.NewReaderSize(c, 64), 64)
	if err != nil {
		return err
	}
	if hdr.Type != packet.CONNACK {
		return fmt.Errorf("answered the CONNECT with packet type %d", hdr.Type)
	}
	ack, err := packet.ParseConnack(raw[len(raw)-hdr.Remaining:], packet.V311)
	if err != nil {
		return err
	}
	if ack.Code != 0 {
		return fmt.Errorf("refused the probe's CONNECT with code %#x", ack.Code)
	}
	_, _ = c.Write(packet.AppendDisconnect(nil, packet.V311, 0))
	return nil
}
