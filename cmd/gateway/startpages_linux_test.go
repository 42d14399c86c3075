//go:build linux

package main

import (
	"bufio"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// residentKB sums the Rss of this process's mappings of its own binary.
func residentKB(t *testing.T) int {
	t.Helper()
	exe := ownBinary()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	total, ours := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 6 && strings.Contains(fs[0], "-") {
			ours = fs[5] == exe && !strings.Contains(fs[1], "w")
			continue
		}
		if ours && len(fs) >= 2 && fs[0] == "Rss:" {
			n, _ := strconv.Atoi(fs[1])
			total += n
		}
	}
	return total
}

func TestReleaseStartupPages(t *testing.T) {
	page, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(page)
	if err := syscall.Madvise(page, madvPageout); err == syscall.EINVAL {
		t.Skip("this kernel has no MADV_PAGEOUT (Linux 5.4 and later): the gateway keeps its start-up pages")
	}
	before := residentKB(t)
	releaseStartupPages(slog.New(slog.DiscardHandler))
	after := residentKB(t)
	t.Logf("read-only pages of the binary resident: %d kB before, %d kB after", before, after)
	if after >= before {
		t.Fatalf("resident pages of the binary did not go down (%d kB → %d kB); MADV_PAGEOUT needs Linux 5.4", before, after)
	}
}
