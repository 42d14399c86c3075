// Command mqttload measures the MQTT gateway against Mosquitto on this
// machine: QoS 0 publish throughput (1 KiB payloads) sent through Guan and
// sent to the broker directly, CONNECT handling (auth + route + broker
// connect) per second, and the gateway's memory per idle connection.
// Rounds are interleaved (direct, Guan, direct, Guan...) and medians
// reported; the table is printed and written to bench/results/.
//
// Idle clients over QUIC share one client UDP socket, so their count is
// bounded by the gateway's broker connections alone (one descriptor each).
//
// Beyond one process's descriptor limit, -fleet spreads the idle sessions
// over gateway processes sharing the port with reusePort (see fleet.go).
//
//	go run ./bench/mqttload [-gateway BIN] [-rounds 3] [-duration 5s] [-idle 5000,9000] [-idle-quic 5000,15000] [-fleet 10000,50000,100000]
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"github.com/guan-gateway/guan/bench/harness"
	"github.com/guan-gateway/guan/mqtt/packet"
)

func main() {
	gwBin := flag.String("gateway", "", "gateway binary (default: build ./cmd/gateway)")
	rounds := flag.Int("rounds", 3, "interleaved rounds")
	duration := flag.Duration("duration", 5*time.Second, "length of each throughput and CONNECT measurement")
	publishers := flag.Int("publishers", 4, "publishing connections")
	payload := flag.Int("payload", 1024, "payload bytes")
	idle := flag.String("idle", "5000,9000", "idle connection counts to measure memory at (the fd limit bounds them)")
	idleQUIC := flag.String("idle-quic", "5000,15000", "idle MQTT-over-QUIC connection counts to measure memory at")
	fleet := flag.String("fleet", "10000,50000,100000", "idle session counts to measure over several gateway processes sharing the port (reusePort)")
	perGateway := flag.Int("per-gateway", 7000, "fleet sessions per gateway process (two descriptors each)")
	out := flag.String("out", "bench/results", "directory for the report")
	hold := flag.String("hold", "", "internal: hold sessions to this address (a fleet's client process)")
	holdN := flag.Int("hold-n", 0, "internal: sessions to hold")
	holdSrc := flag.String("hold-src", "127.0.0.1", "internal: source address of the held sessions")
	holdTLS := flag.Bool("hold-tls", false, "internal: held sessions use TLS")
	holdPrefix := flag.String("hold-prefix", "load-", "internal: client ID prefix of held sessions")
	flag.Parse()
	if *hold != "" {
		holdSessions(*hold, *holdSrc, *holdN, *holdTLS, *holdPrefix)
		return
	}

	work, err := os.MkdirTemp("", "guan-mqttload-")
	harness.Check(err)
	defer os.RemoveAll(work)
	*gwBin = harness.BuildGateway(work, *gwBin)
	broker := startMosquitto(work)
	defer broker.Process.Kill()
	brokerAddr := broker.addr
	gw := startGateway(work, *gwBin, brokerAddr)
	defer gw.stop()

	var direct, guan, connDirect, connGuan []float64
	for r := 0; r < *rounds; r++ {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", r+1, *rounds)
		direct = append(direct, throughput(brokerAddr, brokerAddr, *publishers, *payload, *duration))
		guan = append(guan, throughput(gw.addr, brokerAddr, *publishers, *payload, *duration))
		connDirect = append(connDirect, connectRate(brokerAddr, *duration, false))
		connGuan = append(connGuan, connectRate(gw.addr, *duration, true))
	}
	idleRows := idleTable(work, *gwBin, brokerAddr, *idle, *idleQUIC)
	fleetRows := fleetTable(work, *gwBin, *fleet, *perGateway)

	var b strings.Builder
	fmt.Fprintf(&b, "# MQTT gateway benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %d CPUs (load generator, Mosquitto and Guan share them). %s.\n\n", runtime.NumCPU(), mosquittoVersion())
	if *rounds > 0 {
		fmt.Fprintf(&b, "Medians of %d interleaved rounds of %v:\n\n", *rounds, *duration)
		fmt.Fprintf(&b, "| measure | direct to Mosquitto | through Guan | Guan / direct |\n|---|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| QoS 0 PUBLISH, %d B payload, %d publishers (msg/s received) | %.0f | %.0f | %.2f |\n",
			*payload, *publishers, harness.Median(direct), harness.Median(guan), harness.Median(guan)/harness.Median(direct))
		fmt.Fprintf(&b, "| CONNECT + CONNACK + DISCONNECT per second (Guan: connectAuth, route, broker connect) | %.0f | %.0f | %.2f |\n\n",
			harness.Median(connDirect), harness.Median(connGuan), harness.Median(connGuan)/harness.Median(connDirect))
	}
	if len(idleRows) > 0 {
		fmt.Fprintf(&b, "Gateway RSS per idle proxied connection (client and broker side together), one gateway process:\n\n| client side | connections | RSS per connection |\n|---|---:|---:|\n%s\n\n",
			strings.Join(idleRows, "\n"))
	}
	if len(fleetRows) > 0 {
		fmt.Fprintf(&b, "The same beyond one process's descriptor limit (%s): gateway processes sharing the MQTT port with `reusePort`, at most %d sessions planned per process; "+
			"RSS growth summed over the processes, per session. Clients come from holder processes on 127.0.0.10 and up, brokers are %d-session Mosquitto processes.\n\n"+
			"| client side | sessions | gateway processes (sessions each, min–max) | RSS per session | all gateways' RSS, baselines included | Go heap in use | goroutine stacks |\n|---|---:|---|---:|---:|---:|---:|\n%s\n\n",
			fdLimit(), *perGateway, perBroker, strings.Join(fleetRows, "\n"))
	}
	if *rounds > 0 {
		fmt.Fprintf(&b, "Raw rounds: direct %v, Guan %v; connects direct %v, Guan %v\n", harness.Whole(direct), harness.Whole(guan), harness.Whole(connDirect), harness.Whole(connGuan))
	}
	harness.Report(*out, "mqtt", b.String())
}

// idleTable measures idle sessions held by one fresh gateway per count.
func idleTable(work, gwBin, brokerAddr, idle, idleQUIC string) []string {
	var idleRows []string
	for _, kind := range []string{"plain TCP", "TLS", "QUIC"} {
		counts := idle
		if kind == "QUIC" {
			counts = idleQUIC
		}
		for _, f := range strings.Split(counts, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				continue
			}
			// A fresh gateway per count: memory freed by an earlier run stays
			// in the process and would hide the cost.
			fresh := startGatewayMode(filepath.Join(work, fmt.Sprint("idle", n, kind)), gwBin, brokerAddr, kind)
			perConn, err := idleMemory(fresh, n)
			fresh.stop()
			if err != nil {
				idleRows = append(idleRows, fmt.Sprintf("| %s | %d | %v |", kind, n, err))
				continue
			}
			idleRows = append(idleRows, fmt.Sprintf("| %s | %d | %.1f KB |", kind, n, perConn))
		}
	}
	return idleRows
}

// fleetTable measures idle sessions over several gateway processes.
func fleetTable(work, gwBin, counts string, perGateway int) []string {
	var rows []string
	for _, kind := range []string{"plain TCP", "TLS"} {
		for _, f := range strings.Split(counts, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				continue
			}
			fmt.Fprintf(os.Stderr, "fleet: %d idle %s sessions\n", n, kind)
			r, err := fleetIdle(work, gwBin, kind, n, perGateway)
			if err != nil {
				rows = append(rows, fmt.Sprintf("| %s | %d | %v | | | | |", kind, n, err))
				continue
			}
			rows = append(rows, fmt.Sprintf("| %s | %d | %d (%d–%d) | %.1f KB | %d MB | %d MB | %d MB |", kind, n,
				len(r.gateways), slices.Min(r.gateways), slices.Max(r.gateways), r.perConn, r.totalRSSKB>>10, r.heapKB>>10, r.stacksKB>>10))
		}
	}
	return rows
}

// fdLimit describes this process's descriptor limits.
func fdLimit() string {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "descriptor limit unknown"
	}
	return fmt.Sprintf("RLIMIT_NOFILE soft %d, hard %d", l.Cur, l.Max)
}

type proc struct {
	*exec.Cmd
	addr string
}

func startMosquitto(dir string) *proc {
	port := harness.FreePort()
	conf := filepath.Join(dir, "mosquitto.conf")
	harness.Check(os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_keepalive 65535\nmax_queued_messages 100000\n", port)), 0o644))
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
	}
	cmd := exec.Command("sh", "-c", `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" -c "$1"`, bin, conf)
	harness.Check(cmd.Start())
	p := &proc{Cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	harness.WaitListening(p.addr)
	return p
}

type gateway struct {
	*proc
	api  string
	tls  bool
	quic bool
}

func (g *gateway) stop() { _ = g.Process.Kill(); _ = g.Wait() }

func startGateway(dir, bin, broker string) *gateway {
	return startGatewayMode(dir, bin, broker, "plain TCP")
}

// startGatewayMode starts the gateway; its MQTT entrypoint takes plain
// MQTT ("plain TCP"), TLS with a self-signed certificate for 127.0.0.1
// ("TLS"), or that and MQTT over QUIC on the same port ("QUIC").
func startGatewayMode(dir, bin, broker, mode string) *gateway {
	return startGatewayWith(dir, bin, gatewayOpts{brokers: []string{broker}, mode: mode})
}

// gatewayOpts shapes one gateway process.
type gatewayOpts struct {
	brokers   []string // the broker service's servers
	mode      string   // "plain TCP", "TLS" or "QUIC"
	port      int      // the MQTT entrypoint's port; 0 picks a free one
	reusePort bool     // several processes share the port (the fleet)
}

func startGatewayWith(dir, bin string, o gatewayOpts) *gateway {
	useTLS := o.mode != "plain TCP"
	quicSection := ""
	if o.mode == "QUIC" {
		quicSection = "[entryPoints.mqtt.mqtt]\n  quic = true\n"
	}
	port, api := o.port, harness.FreePort()
	if port == 0 {
		port = harness.FreePort()
	}
	var servers strings.Builder
	for _, b := range o.brokers {
		fmt.Fprintf(&servers, "[[mqtt.services.broker.loadBalancer.servers]]\n  address = %q\n", b)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("secret"), 5)
	dyn := filepath.Join(dir, "dynamic")
	harness.Check(os.MkdirAll(dyn, 0o755))
	harness.Check(os.WriteFile(filepath.Join(dyn, "mqtt.toml"), []byte(fmt.Sprintf(`
[mqtt.routers.load]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(%[1]sload-%[1]s)"
  service = "broker"
[mqtt.routers.auth]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(%[1]sconn-%[1]s)"
  service = "broker"
  middlewares = ["auth"]
[mqtt.middlewares.auth.connectAuth]
  users = ["bench:%[2]s"]
%[3]s`, "`", hash, servers.String())+tlsSection(dir, useTLS)), 0o644))
	static := filepath.Join(dir, "static.toml")
	harness.Check(os.WriteFile(static, []byte(fmt.Sprintf(`
[entryPoints.mqtt]
  address = "127.0.0.1:%d"
  reusePort = %t
%s[entryPoints.traefik]
  address = "127.0.0.1:%d"
[providers.file]
  directory = %q
[ping]
[api]
  insecure = true
  debug = true
[metrics.prometheus]
[log]
  level = "ERROR"
`, port, o.reusePort, quicSection, api, dyn)), 0o644))
	cmd := exec.Command(bin, "--configFile="+static)
	cmd.Stderr = os.Stderr
	harness.Check(cmd.Start())
	g := &gateway{proc: &proc{Cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port)}, api: fmt.Sprintf("127.0.0.1:%d", api), tls: useTLS, quic: o.mode == "QUIC"}
	harness.WaitListening(g.api)
	time.Sleep(time.Second) // the file provider's first configuration
	return g
}

func mqttConnect(addr, clientID string, auth bool, keepAlive uint16) (net.Conn, *bufio.Reader, error) {
	return mqttConnectTLS(addr, clientID, auth, keepAlive, false)
}

func mqttConnectTLS(addr, clientID string, auth bool, keepAlive uint16, useTLS bool) (net.Conn, *bufio.Reader, error) {
	return mqttConnectFrom(nil, addr, clientID, auth, keepAlive, useTLS)
}

// mqttConnectFrom opens a session from the local address (nil: any).
func mqttConnectFrom(local *net.TCPAddr, addr, clientID string, auth bool, keepAlive uint16, useTLS bool) (net.Conn, *bufio.Reader, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		d.LocalAddr = local
		// The port is chosen at connect, by the whole 4-tuple: ports taken
		// by bind alone would be denied to the gateway's own broker
		// connections, and a 100k-session fleet would run out of them.
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
			return errors.Join(err, serr)
		}
	}
	var c net.Conn
	var err error
	if useTLS {
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, nil, err
	}
	cp := packet.Connect{ProtocolName: "MQTT", Version: packet.V311, CleanStart: true, ClientID: clientID, KeepAlive: keepAlive}
	if auth {
		cp.HasUsername, cp.Username, cp.HasPassword, cp.Password = true, "bench", true, []byte("secret")
	}
	if _, err := c.Write(cp.Append(nil)); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(br, ack); err != nil || ack[3] != 0 {
		c.Close()
		return nil, nil, fmt.Errorf("CONNACK % x: %v", ack, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, br, nil
}

// quicClients opens MQTT-over-QUIC sessions from one UDP socket.
type quicClients struct {
	tr   *quic.Transport
	addr *net.UDPAddr
}

func newQUICClients(addr string) (*quicClients, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	return &quicClients{tr: &quic.Transport{Conn: udp}, addr: ua}, nil
}

func (q *quicClients) close() { q.tr.Close() }

// connect opens a QUIC connection (ALPN mqtt), its stream, and a session
// with keep-alive 0; the connection pings below the gateway's QUIC idle
// timeout.
func (q *quicClients) connect(clientID string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := q.tr.Dial(ctx, q.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"mqtt"}}, &quic.Config{KeepAlivePeriod: time.Minute})
	if err != nil {
		return nil, err
	}
	str, err := c.OpenStreamSync(ctx)
	if err != nil {
		c.CloseWithError(0, "")
		return nil, err
	}
	sc := quicStream{Stream: str, conn: c}
	cp := packet.Connect{ProtocolName: "MQTT", Version: packet.V311, CleanStart: true, ClientID: clientID}
	if _, err := sc.Write(cp.Append(nil)); err != nil {
		sc.Close()
		return nil, err
	}
	_ = sc.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, 4)
	if _, err := io.ReadFull(bufio.NewReader(sc), ack); err != nil || ack[3] != 0 {
		sc.Close()
		return nil, fmt.Errorf("CONNACK % x: %v", ack, err)
	}
	_ = sc.SetReadDeadline(time.Time{})
	return sc, nil
}

// quicStream is a client's MQTT-over-QUIC stream as a net.Conn.
type quicStream struct {
	*quic.Stream
	conn *quic.Conn
}

func (s quicStream) LocalAddr() net.Addr  { return s.conn.LocalAddr() }
func (s quicStream) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }
func (s quicStream) Close() error         { return s.conn.CloseWithError(0, "") }

var seq atomic.Int64

// throughput publishes QoS 0 messages to pubAddr from n connections for d
// and counts what a subscriber on the broker receives.
func throughput(pubAddr, brokerAddr string, n, size int, d time.Duration) float64 {
	topic := fmt.Sprintf("load/%d", seq.Add(1))
	sub, sbr, err := mqttConnect(brokerAddr, fmt.Sprintf("sub-%d", seq.Add(1)), false, 0)
	harness.Check(err)
	defer sub.Close()
	subscribe := packet.AppendSubscribe(nil, packet.V311, 1, nil, []packet.Subscription{{Filter: topic, Options: 0}})
	_, err = sub.Write(subscribe)
	harness.Check(err)
	suback := make([]byte, 5)
	_, err = io.ReadFull(sbr, suback)
	harness.Check(err)

	var received atomic.Int64
	go func() {
		buf := make([]byte, 64<<10)
		var pending []byte
		for {
			m, err := sbr.Read(buf)
			if err != nil {
				return
			}
			pending = append(pending, buf[:m]...)
			for {
				h, hl, perr := packet.ParseHeader(pending)
				if perr != nil || len(pending) < hl+h.Remaining {
					break
				}
				if h.Type == packet.PUBLISH {
					received.Add(1)
				}
				pending = pending[hl+h.Remaining:]
			}
			if cap(pending) > 1<<20 {
				pending = append([]byte(nil), pending...)
			}
		}
	}()

	body := make([]byte, 0, 2+len(topic)+size)
	body = append(body, byte(len(topic)>>8), byte(len(topic)))
	body = append(body, topic...)
	body = append(body, make([]byte, size)...)
	msg := append(packet.AppendHeader(nil, packet.PUBLISH, 0, len(body)), body...)
	batch := make([]byte, 0, 64*len(msg))
	for range 64 {
		batch = append(batch, msg...)
	}

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		c, _, err := mqttConnect(pubAddr, fmt.Sprintf("load-%d-%d", seq.Add(1), i), false, 0)
		harness.Check(err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for ctx.Err() == nil {
				if _, err := c.Write(batch); err != nil {
					return
				}
			}
		}()
	}
	start := received.Load()
	t0 := time.Now()
	<-ctx.Done()
	got := received.Load() - start
	el := time.Since(t0)
	wg.Wait()
	return float64(got) / el.Seconds()
}

// connectRate runs CONNECT/CONNACK/DISCONNECT cycles from 8 workers for d.
func connectRate(addr string, d time.Duration, auth bool) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				c, _, err := mqttConnect(addr, fmt.Sprintf("conn-%d-%d-%d", seq.Add(1), w, i), auth, 0)
				if err != nil {
					continue
				}
				_, _ = c.Write(packet.AppendDisconnect(nil, packet.V311, 0))
				c.Close()
				done.Add(1)
			}
		}()
	}
	t0 := time.Now()
	<-ctx.Done()
	wg.Wait()
	return float64(done.Load()) / time.Since(t0).Seconds()
}

// idleMemory holds n idle connections through the gateway and returns its
// RSS growth per connection, in KB.
func idleMemory(g *gateway, n int) (float64, error) {
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	time.Sleep(time.Second)
	collectGarbage(g)
	before := harness.RSSKB(g.Process.Pid)
	var qc *quicClients
	if g.quic {
		var err error
		if qc, err = newQUICClients(g.addr); err != nil {
			return 0, err
		}
		defer qc.close()
	}
	for i := range n {
		id := fmt.Sprintf("load-idle-%d-%d", seq.Add(1), i)
		if qc != nil {
			c, err := qc.connect(id)
			if err != nil {
				return 0, fmt.Errorf("connection %d: %w", i, err)
			}
			conns = append(conns, c)
			continue
		}
		c, _, err := mqttConnectTLS(g.addr, id, false, 0, g.tls)
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", i, err)
		}
		conns = append(conns, c)
	}
	// Collect the garbage the handshakes left.
	time.Sleep(time.Second)
	collectGarbage(g)
	time.Sleep(2 * time.Second)
	after := harness.RSSKB(g.Process.Pid)
	heap, stacks, goroutines := runtimeMem(g)
	fmt.Fprintf(os.Stderr, "  %d idle: RSS +%d KB; Go heap in use %d KB, stacks %d KB, %d goroutines\n",
		n, after-before, heap>>10, stacks>>10, goroutines)
	return float64(after-before) / float64(n), nil
}

// runtimeMem reads the gateway's heap and stack bytes in use and its
// goroutine count from its pprof endpoints.
func runtimeMem(g *gateway) (heap, stacks int64, goroutines int) {
	resp, err := http.Get("http://" + g.api + "/debug/pprof/heap?debug=1")
	if err != nil {
		return 0, 0, 0
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "# HeapInuse = "); ok {
			heap, _ = strconv.ParseInt(v, 10, 64)
		}
		if v, ok := strings.CutPrefix(l, "# Stack = "); ok { // "in use / from the OS"
			stacks, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	if resp, err := http.Get("http://" + g.api + "/debug/pprof/goroutine?debug=1"); err == nil {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		fmt.Sscanf(line, "goroutine profile: total %d", &goroutines)
	}
	return heap, stacks, goroutines
}

func mosquittoVersion() string {
	out, _ := exec.Command("sh", "-c", "mosquitto -h 2>&1 | head -1; [ -x /usr/sbin/mosquitto ] && /usr/sbin/mosquitto -h 2>&1 | head -1").Output()
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// tlsSection gives the mqtt routers a tls section with a self-signed
// certificate written into dir.
func tlsSection(dir string, useTLS bool) string {
	if !useTLS {
		return ""
	}
	cert, keyFile := harness.SelfSigned(dir, "127.0.0.1")
	return fmt.Sprintf(`
[mqtt.routers.load.tls]
[mqtt.routers.auth.tls]
[[tls.certificates]]
  certFile = %q
  keyFile = %q
`, cert, keyFile)
}
