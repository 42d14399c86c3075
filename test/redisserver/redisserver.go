// Package redisserver runs real redis-server processes for tests: a single
// server or a Redis Cluster, on free loopback ports, stopped when the test
// ends. Tests use it to kill Redis mid-traffic and bring it back.
package redisserver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr string // 127.0.0.1:port
	t    testing.TB
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// binary finds redis-server or skips the test naming what is missing.
func binary(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install redis-server; scripts/test.sh does it)", name)
	}
	return p
}

// Start runs a redis-server without persistence on a free port.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir()}
	port := freePort(t)
	s.Addr = "127.0.0.1:" + strconv.Itoa(port)
	s.args = append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
	}, extra...)
	s.start()
	t.Cleanup(s.Kill)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	s.cmd = exec.Command(binary(s.t, "redis-server"), s.args...)
	s.cmd.Dir = s.dir
	log, err := os.Create(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); log.Close(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if reply, err := s.Do("PING"); err == nil && reply == "PONG" {
			return
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server exited:\n%s", b)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.t.Fatalf("redis-server on %s did not answer PING", s.Addr)
}

// Kill stops the server at once (SIGKILL), as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Do sends one command (inline form, words without spaces) and returns the
// first line of the reply without its type byte; "-ERR..." replies are
// errors.
func (s *Server) Do(words ...string) (string, error) {
	c, r, err := s.send(words)
	if err != nil {
		return "", err
	}
	defer c.Close()
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redis: %s", line[1:])
	}
	if len(line) > 0 {
		line = line[1:]
	}
	return line, nil
}

// StartCluster runs n cluster-enabled masters (n ≥ 3) and joins them with
// redis-cli --cluster create; it returns once every slot is served.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	cli := binary(t, "redis-cli")
	nodes := make([]*Server, n)
	addrs := make([]string, n)
	for i := range nodes {
		nodes[i] = Start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		addrs[i] = nodes[i].Addr
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, s := range nodes {
			info, err := s.clusterState()
			if err != nil || info != "ok" {
				ok = false
				break
			}
		}
		if ok {
			return nodes
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("Redis Cluster did not reach state ok")
	return nil
}

// Info returns the text of an INFO section ("commandstats"...).
func (s *Server) Info(section string) (string, error) { return s.bulk("INFO", section) }

// clusterState reads cluster_state from CLUSTER INFO.
func (s *Server) clusterState() (string, error) {
	info, err := s.bulk("CLUSTER", "INFO")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("redis: no cluster_state in CLUSTER INFO")
}

// bulk sends a command whose reply is one bulk string and returns it.
func (s *Server) bulk(words ...string) (string, error) {
	c, r, err := s.send(words)
	if err != nil {
		return "", err
	}
	defer c.Close()
	head, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(head, "$")))
	if err != nil || n < 0 {
		return "", fmt.Errorf("redis: %s answered %q", words[0], strings.TrimSpace(head))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

// send opens a connection and sends one inline command on it.
func (s *Server) send(words []string) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\r\n", strings.Join(words, " ")); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, bufio.NewReader(c), nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
