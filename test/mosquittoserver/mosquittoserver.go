// Package mosquittoserver runs real Mosquitto brokers for tests on free
// loopback ports, stopped when the test ends; tests kill them mid-traffic.
package mosquittoserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Broker is one mosquitto process.
type Broker struct {
	Addr string // 127.0.0.1:port
	Port int
	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// Start runs a mosquitto broker that allows anonymous clients, without
// persistence.
func Start(t testing.TB) *Broker { return start(t, "log_type error\nlog_type warning\n") }

// StartLogging is Start with every event logged (connections with their
// keep-alive, each PINGREQ...), for tests that check what the broker saw.
func StartLogging(t testing.TB) *Broker { return start(t, "log_type all\n") }

// Log returns what the broker logged so far.
func (b *Broker) Log() string {
	out, _ := os.ReadFile(b.log)
	return string(out)
}

func start(t testing.TB, logTypes string) *Broker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto"
		if _, serr := os.Stat(bin); serr != nil {
			t.Skip("mosquitto is not installed (apt-get install mosquitto; scripts/test.sh does it)")
		}
	}
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		b := &Broker{t: t, done: make(chan struct{}), log: filepath.Join(dir, "mosquitto.log")}
		b.Port = freePort(t)
		b.Addr = "127.0.0.1:" + strconv.Itoa(b.Port)
		conf := filepath.Join(dir, "mosquitto.conf")
		body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n%smax_keepalive 65535\n", b.Port, logTypes)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(b.log)
		if err != nil {
			t.Fatal(err)
		}
		// As many descriptors as the system allows: tests hold thousands of
		// connections, and Go gives children the soft limit it started with.
		b.cmd = exec.Command("sh", "-c", `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" -c "$1"`, bin, conf)
		b.cmd.Stdout, b.cmd.Stderr = logf, logf
		if err := b.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = b.cmd.Wait(); logf.Close(); close(b.done) }()
		if b.ready() {
			t.Cleanup(b.Kill)
			return b
		}
		b.Kill()
		if attempt == 2 {
			out, _ := os.ReadFile(b.log)
			t.Fatalf("mosquitto did not start:\n%s", out)
		}
	}
}

func (b *Broker) ready() bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-b.done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Restart starts a killed broker again on the same port.
func (b *Broker) Restart() {
	b.t.Helper()
	args := b.cmd.Args
	logf, err := os.OpenFile(b.log, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.t.Fatal(err)
	}
	b.done = make(chan struct{})
	b.cmd = exec.Command(args[0], args[1:]...)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	done := b.done
	cmd := b.cmd
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	if !b.ready() {
		b.t.Fatalf("mosquitto did not restart on %s", b.Addr)
	}
}

// Kill stops the broker at once (SIGKILL), as a crash would.
func (b *Broker) Kill() {
	select {
	case <-b.done:
		return
	default:
	}
	_ = b.cmd.Process.Kill()
	<-b.done
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
