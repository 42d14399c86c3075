package main

import (
	"bufio"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// constantRate sends HTTP/1.1 requests at a fixed total rate, spread evenly
// over keep-alive connections, and measures each latency from the moment
// the request was due rather than from when it was sent (as wrk2 does), so
// that a stalled proxy cannot hide its stall by delaying the next requests.
// h2load --rps starts every client's timer at once and sends in bursts of
// one request per connection, which measures the bursts, not the proxy.
func constantRate(l load, addr string, d time.Duration) (measurement, error) {
	conns := make([]net.Conn, l.conns)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return measurement{}, fmt.Errorf("constant rate: %w", err)
		}
		defer c.Close()
		conns[i] = c
	}
	req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: guan-bench\r\n\r\n", l.path, benchHost))
	interval := time.Duration(float64(time.Second) / l.rate)
	total := int(d / interval)

	var mu sync.Mutex
	var lat []float64
	var failed int64
	var wg sync.WaitGroup
	queues := make([]chan time.Time, len(conns))
	for i, c := range conns {
		queues[i] = make(chan time.Time, 1024)
		wg.Add(1)
		go func(c net.Conn, q chan time.Time) {
			defer wg.Done()
			br := bufio.NewReader(c)
			var mine []float64
			var bad int64
			for due := range q {
				if _, err := c.Write(req); err != nil {
					bad++
					continue
				}
				if err := readResponse(br); err != nil {
					bad++
					continue
				}
				mine = append(mine, float64(time.Since(due))/float64(time.Millisecond))
			}
			mu.Lock()
			lat = append(lat, mine...)
			failed += bad
			mu.Unlock()
		}(c, queues[i])
	}
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		queues[i%len(queues)] <- due
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return measurement{}, fmt.Errorf("constant rate: no request succeeded (%d failed)", failed)
	}
	slices.Sort(lat)
	return measurement{
		requests: int64(len(lat)), seconds: elapsed.Seconds(), errors: failed,
		p50: percentile(lat, 50), p99: percentile(lat, 99), p999: percentile(lat, 99.9),
	}, nil
}

// readResponse reads one response with a Content-Length body (all the
// upstream sends) and fails on anything but 200.
func readResponse(br *bufio.Reader) error {
	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200") {
		return fmt.Errorf("status %q", status)
	}
	length := 0
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	_, err = br.Discard(length)
	return err
}
