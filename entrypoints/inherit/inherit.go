// Package inherit picks up listening sockets passed by the parent process:
// systemd socket activation, or the previous gateway binary during a
// live upgrade.
package inherit

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Environment variables read (and then unset) by Listeners.
const (
	EnvListenPID     = "LISTEN_PID"      // systemd: must equal our pid
	EnvListenFDs     = "LISTEN_FDS"      // systemd: number of fds, starting at 3
	EnvListenFDNames = "LISTEN_FDNAMES"  // systemd: colon-separated names
	EnvGuanFDs       = "GUAN_LISTEN_FDS" // "web:3,traefik:4", set by the upgrade handover
)

// firstFD is where systemd starts passing descriptors (SD_LISTEN_FDS_START).
const firstFD = 3

// Listeners returns the inherited listeners keyed by entrypoint name and
// unsets the variables so child processes do not inherit them again.
//
// GUAN_LISTEN_FDS lists explicit name:fd pairs. The systemd variables are
// used when LISTEN_PID matches this process; fds 3.. are named by
// LISTEN_FDNAMES (set FileDescriptorName= in the socket unit to the
// entrypoint name), or by their number ("3") when no names are given.
// Both sources may be combined; a name given twice is an error.
func Listeners() (map[string]net.Listener, error) {
	fds, err := fromEnv(os.Getenv, os.Getpid())
	for _, k := range []string{EnvListenPID, EnvListenFDs, EnvListenFDNames, EnvGuanFDs} {
		os.Unsetenv(k)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]net.Listener, len(fds))
	for name, fd := range fds {
		f := os.NewFile(uintptr(fd), name)
		if f == nil {
			closeAll(out)
			return nil, fmt.Errorf("inherited listener %q: fd %d is not valid", name, fd)
		}
		ln, err := net.FileListener(f) // dups the fd
		f.Close()
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("inherited listener %q (fd %d): %w: pass a listening stream socket", name, fd, err)
		}
		out[name] = ln
	}
	return out, nil
}

func closeAll(m map[string]net.Listener) {
	for _, ln := range m {
		ln.Close()
	}
}

// fromEnv maps names to fds from the environment.
func fromEnv(getenv func(string) string, pid int) (map[string]int, error) {
	fds := make(map[string]int)
	add := func(name string, fd int, src string) error {
		if name == "" {
			return fmt.Errorf("%s: empty name for fd %d", src, fd)
		}
		if prev, dup := fds[name]; dup {
			return fmt.Errorf("%s: name %q given to fds %d and %d: give each socket its entrypoint's name", src, name, prev, fd)
		}
		fds[name] = fd
		return nil
	}

	if v := getenv(EnvGuanFDs); v != "" {
		for _, pair := range strings.Split(v, ",") {
			name, num, ok := strings.Cut(strings.TrimSpace(pair), ":")
			fd, err := strconv.Atoi(num)
			if !ok || err != nil || fd < firstFD {
				return nil, fmt.Errorf("%s: %q is not name:fd with fd >= %d (example: web:3,websecure:4)", EnvGuanFDs, pair, firstFD)
			}
			if err := add(name, fd, EnvGuanFDs); err != nil {
				return nil, err
			}
		}
	}

	if getenv(EnvListenPID) != strconv.Itoa(pid) {
		return fds, nil // not for us (systemd semantics): ignore the rest
	}
	n, err := strconv.Atoi(getenv(EnvListenFDs))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%s=%q is not a count of descriptors", EnvListenFDs, getenv(EnvListenFDs))
	}
	var names []string
	if v := getenv(EnvListenFDNames); v != "" {
		names = strings.Split(v, ":")
		if len(names) != n {
			return nil, fmt.Errorf("%s has %d names for %d descriptors", EnvListenFDNames, len(names), n)
		}
	}
	for i := range n {
		fd := firstFD + i
		name := strconv.Itoa(fd)
		if names != nil {
			name = names[i]
		}
		if err := add(name, fd, EnvListenFDNames); err != nil {
			return nil, err
		}
	}
	return fds, nil
}
