package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// tree is a process and its descendants (nginx's master and workers, say),
// found again at every reading so that respawned workers are counted.
type tree struct{ root int }

func (t tree) pids() []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := readStat(pid); ok {
			parent[pid] = ppid
		}
	}
	var out []int
	for pid := range parent {
		for p := pid; p > 1; p = parent[p] {
			if p == t.root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// readStat returns a process's parent and its user+system CPU time.
func readStat(pid int) (ppid int, cpu time.Duration, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ppid, time.Duration(ut+st) * time.Second / clockTicks, true
}

// cpu is the CPU time used so far by the whole tree.
func (t tree) cpu() time.Duration {
	var sum time.Duration
	for _, pid := range t.pids() {
		if _, c, ok := readStat(pid); ok {
			sum += c
		}
	}
	return sum
}

// pssKB is the proportional set size of the tree: pages shared between
// nginx's master and workers are counted once, not once per process.
func (t tree) pssKB() int64 {
	var sum int64
	for _, pid := range t.pids() {
		f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
				break
			}
		}
		f.Close()
	}
	return sum
}

// peakSampler polls the tree's memory until stopped and keeps the highest
// reading.
type peakSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	peak  int64
}

func samplePeak(t tree, every time.Duration) *peakSampler {
	s := &peakSampler{stopc: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if v := t.pssKB(); v > s.peak {
				s.peak = v
			}
			select {
			case <-s.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) stop() int64 {
	close(s.stopc)
	s.wg.Wait()
	return s.peak
}
