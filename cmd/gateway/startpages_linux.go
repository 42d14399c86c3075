//go:build linux

package main

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// madvPageout is MADV_PAGEOUT (Linux 5.4), which the syscall package does
// not name.
const madvPageout = 21

// releaseStartupPages gives back the pages of the gateway's own binary
// that only start-up touched. The binary links large libraries (OPA,
// Coraza and the CRS); their package initialisation and configuration
// loading touch code and read-only data all over the file, and the kernel
// maps neighbouring pages along with each one, so most of the binary ends
// up resident although serving uses a small part of it. These are clean
// file pages: once released, the ones requests need come back on first
// use. Measured on the benchmark's POST scenario (bench/, scenario 2):
// peak PSS 49.3 → 30.9 MB. Errors (an older kernel without MADV_PAGEOUT)
// change nothing.
func releaseStartupPages(log *slog.Logger) {
	exe := ownBinary()
	if exe == "" {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	var released uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// address perms offset dev inode path; writable mappings hold
		// data the program changed and are left alone.
		if len(fs) < 6 || fs[5] != exe || strings.Contains(fs[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), madvPageout); errno != 0 {
			log.Debug("start-up pages kept", "error", errno.Error())
			return
		}
		released += end - start
	}
	log.Debug("start-up pages of the binary released", "mappedBytes", released)
}

// ownBinary is the path of the running executable as /proc/self/maps
// names it, or "".
func ownBinary() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	return exe
}
