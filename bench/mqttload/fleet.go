package main

// The fleet measurement holds more idle sessions than one process may have
// descriptors for. A gateway holds two per session (client and broker side),
// so where the hard RLIMIT_NOFILE cannot be raised (a container without
// CAP_SYS_RESOURCE) the sessions are spread over several gateway processes
// sharing one port with reusePort, as an operator would run them; the
// clients come from several holder processes on their own 127.0.0.x source
// addresses, and the broker side from several Mosquitto processes.

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/bench/harness"
)

// Sessions per process of each kind: a gateway uses two descriptors per
// session, a holder and a broker one; all stay well under 20 000.
const (
	perHolder = 9000
	perBroker = 15000
)

// fleetResult is one fleet measurement.
type fleetResult struct {
	sessions   int
	gateways   []int // sessions each gateway process held
	perConn    float64
	totalRSSKB int // all gateway processes, baselines included
	heapKB     int64
	stacksKB   int64
}

// fleetIdle holds n idle sessions through ceil(n/perGateway) gateway
// processes and returns their RSS growth per session.
func fleetIdle(work, bin, mode string, n, perGateway int) (fleetResult, error) {
	res := fleetResult{sessions: n}
	dir := filepath.Join(work, fmt.Sprintf("fleet-%d-%s", n, strings.ReplaceAll(mode, " ", "")))
	harness.Check(os.MkdirAll(dir, 0o755))

	var brokers []string
	for i := range ceilDiv(n, perBroker) {
		bdir := filepath.Join(dir, fmt.Sprint("broker", i))
		harness.Check(os.MkdirAll(bdir, 0o755))
		b := startMosquitto(bdir)
		defer func() { _ = b.Process.Kill(); _ = b.Wait() }()
		brokers = append(brokers, b.addr)
	}
	port := harness.FreePort()
	var gws []*gateway
	for i := range ceilDiv(n, perGateway) {
		gdir := filepath.Join(dir, fmt.Sprint("gateway", i))
		harness.Check(os.MkdirAll(gdir, 0o755))
		g := startGatewayWith(gdir, bin, gatewayOpts{brokers: brokers, mode: mode, port: port, reusePort: true})
		defer g.stop()
		gws = append(gws, g)
	}
	before := 0
	for _, g := range gws {
		collectGarbage(g)
		before += harness.RSSKB(g.Process.Pid)
	}

	holders, err := startHolders(gws[0].addr, n, mode == "TLS")
	defer func() {
		for _, h := range holders {
			_ = h.stdin.Close()
			_ = h.Wait()
		}
	}()
	if err != nil {
		return res, err
	}

	time.Sleep(time.Second)
	for _, g := range gws {
		collectGarbage(g)
	}
	time.Sleep(2 * time.Second)
	after, held := 0, 0
	for _, g := range gws {
		after += harness.RSSKB(g.Process.Pid)
		c, err := mqttSessions(g)
		if err != nil {
			return res, err
		}
		res.gateways = append(res.gateways, c)
		held += c
		heap, stacks, _ := runtimeMem(g)
		res.heapKB += heap >> 10
		res.stacksKB += stacks >> 10
	}
	if held != n {
		return res, fmt.Errorf("the gateways hold %d sessions, not %d", held, n)
	}
	res.perConn = float64(after-before) / float64(n)
	res.totalRSSKB = after
	return res, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// collectGarbage runs the gateway's collector (a heap profile with gc=1
// does), so RSS shows what the connections hold rather than garbage.
func collectGarbage(g *gateway) {
	for range 2 {
		if resp, err := http.Get("http://" + g.api + "/debug/pprof/heap?gc=1"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
}

// mqttSessions sums a gateway's guan_mqtt_connections series.
func mqttSessions(g *gateway) (int, error) {
	resp, err := http.Get("http://" + g.api + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "guan_mqtt_connections{"); ok {
			if v, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64); err == nil {
				total += v
			}
		}
	}
	return int(math.Round(total)), sc.Err()
}

type holder struct {
	*exec.Cmd
	stdin io.WriteCloser
}

// startHolders starts holder processes (this command with -hold) that
// together open n sessions to addr, each from its own source address, and
// waits until every one reports its sessions open.
func startHolders(addr string, n int, useTLS bool) ([]*holder, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	k := ceilDiv(n, perHolder)
	var hs []*holder
	errs := make(chan error, k)
	for i := range k {
		count := n / k
		if i < n%k {
			count++
		}
		cmd := exec.Command(self, "-hold", addr, "-hold-n", fmt.Sprint(count),
			"-hold-src", fmt.Sprintf("127.0.0.%d", 10+i), fmt.Sprintf("-hold-tls=%t", useTLS),
			"-hold-prefix", fmt.Sprintf("load-fleet-%d-%d-", seq.Add(1), i))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return hs, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return hs, err
		}
		if err := cmd.Start(); err != nil {
			return hs, err
		}
		hs = append(hs, &holder{Cmd: cmd, stdin: stdin})
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			if strings.TrimSpace(line) != "ready" {
				errs <- fmt.Errorf("holder %d: %q", i, strings.TrimSpace(line))
				return
			}
			errs <- nil
		}()
	}
	for range k {
		if err := <-errs; err != nil {
			return hs, err
		}
	}
	return hs, nil
}

// holdSessions is the holder process: it opens n MQTT sessions to addr
// from src (8 at a time), says "ready" (or the first error) on standard
// output, and holds them until its standard input closes.
func holdSessions(addr, src string, n int, useTLS bool, prefix string) {
	local := &net.TCPAddr{IP: net.ParseIP(src)}
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, _, err := mqttConnectFrom(local, addr, prefix+strconv.Itoa(i), false, 0, useTLS)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("session %d from %s: %w", i, src, err) })
					next.Store(int64(n))
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		fmt.Println(firstErr)
		os.Exit(1)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
