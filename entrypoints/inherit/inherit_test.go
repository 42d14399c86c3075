package inherit

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	const pid = 4242
	tests := []struct {
		name    string
		env     map[string]string
		want    map[string]int
		wantErr string
	}{
		{"nothing", nil, map[string]int{}, ""},
		{"systemd named", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web:websecure"}, map[string]int{"web": 3, "websecure": 4}, ""},
		{"systemd unnamed", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2"}, map[string]int{"3": 3, "4": 4}, ""},
		{"systemd for another process", map[string]string{"LISTEN_PID": "1", "LISTEN_FDS": "2"}, map[string]int{}, ""},
		{"handover pairs", map[string]string{"GUAN_LISTEN_FDS": "web:3, traefik:5"}, map[string]int{"web": 3, "traefik": 5}, ""},
		{"both", map[string]string{"GUAN_LISTEN_FDS": "mqtt:6", "LISTEN_PID": "4242", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "web"}, map[string]int{"web": 3, "mqtt": 6}, ""},
		{"duplicate names", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "guan.socket:guan.socket"}, nil, `name "guan.socket" given to fds 3 and 4`},
		{"name count mismatch", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "web"}, nil, "1 names for 2 descriptors"},
		{"bad count", map[string]string{"LISTEN_PID": "4242", "LISTEN_FDS": "x"}, nil, "not a count"},
		{"bad pair", map[string]string{"GUAN_LISTEN_FDS": "web=3"}, nil, "not name:fd"},
		{"stdio fd", map[string]string{"GUAN_LISTEN_FDS": "web:1"}, nil, "fd >= 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromEnv(func(k string) string { return tt.env[k] }, pid)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

const childEnv = "GUAN_INHERIT_TEST_CHILD"

// TestInheritChild is the child process: it serves HTTP on the inherited
// "web" listener until killed.
func TestInheritChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("helper process for TestInheritedListener")
	}
	lns, err := Listeners()
	if err != nil {
		fmt.Println("child:", err)
		os.Exit(1)
	}
	for _, k := range []string{EnvGuanFDs, EnvListenPID, EnvListenFDs, EnvListenFDNames} {
		if v, ok := os.LookupEnv(k); ok {
			fmt.Printf("child: %s=%q still set\n", k, v)
			os.Exit(1)
		}
	}
	ln, ok := lns["web"]
	if !ok {
		fmt.Printf("child: no web listener in %v\n", lns)
		os.Exit(1)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "child %d", os.Getpid())
	}))
	os.Exit(0)
}

func TestInheritedListener(t *testing.T) {
	tests := []struct {
		name string
		cmd  func(exe string) *exec.Cmd
	}{
		{"GUAN_LISTEN_FDS", func(exe string) *exec.Cmd {
			c := exec.Command(exe, "-test.run=^TestInheritChild$")
			c.Env = append(os.Environ(), childEnv+"=1", "GUAN_LISTEN_FDS=web:3")
			return c
		}},
		{"systemd", func(exe string) *exec.Cmd {
			// exec keeps the shell's pid, as systemd sets LISTEN_PID after fork.
			c := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" -test.run='^TestInheritChild$'`, exe)
			c.Env = append(os.Environ(), childEnv+"=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=web")
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f, err := ln.(*net.TCPListener).File()
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // the socket stays open through f
			cmd := tt.cmd(os.Args[0])
			cmd.ExtraFiles = []*os.File{f} // fd 3 in the child
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}()

			// The socket already listens, so the request queues until the child accepts.
			client := &http.Client{Timeout: 20 * time.Second}
			resp, err := client.Get("http://" + addr + "/")
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait() // output is complete only after Wait
				t.Fatalf("request to inherited listener: %v (child output: %s)", err, out.String())
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("child %d", cmd.Process.Pid); string(body) != want {
				t.Errorf("body %q, want %q", body, want)
			}
		})
	}
}
