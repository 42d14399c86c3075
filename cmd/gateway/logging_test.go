package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/guan-gateway/guan/config/static"
)

func countLines(t *testing.T, paths ...string) int {
	t.Helper()
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("\n"))
	}
	return n
}

func TestLogFileReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "gw.log")
	log, out, err := newLogger(&static.Log{Level: "INFO", FilePath: path}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	log.Info("before")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := out.Reopen(); err != nil {
		t.Fatal(err)
	}
	log.Info("after")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.Contains(string(old), "before") || strings.Contains(string(old), "after") || !strings.Contains(string(cur), "after") {
		t.Fatalf("rotated file %q, new file %q", old, cur)
	}
}

// A reopen that cannot open the path keeps writing to the previous file
// and says so.
func TestLogFileReopenFailureKeepsOldFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	path := filepath.Join(dir, "gw.log")
	for _, cfg := range []*static.Log{{FilePath: path}, {FilePath: path, MaxBackups: 2}} {
		log, out, err := newLogger(cfg, os.Stderr)
		if err != nil {
			t.Fatal(err)
		}
		log.Error("first")
		if err := os.Rename(dir, dir+".old"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := out.Reopen(); err == nil || !strings.Contains(err.Error(), "still writing to the previous one") {
			t.Fatalf("rotates %v: reopen err = %v", cfg.Rotates(), err)
		}
		log.Error("second")
		out.Close()
		if b, _ := os.ReadFile(filepath.Join(dir+".old", "gw.log")); !strings.Contains(string(b), "first") || !strings.Contains(string(b), "second") {
			t.Fatalf("rotates %v: previous file has %q", cfg.Rotates(), b)
		}
		os.Remove(dir)
		os.RemoveAll(dir + ".old")
	}
}

// Lines written while the file is reopened land in one file or the other;
// none is lost.
func TestLogFileConcurrentReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.log")
	out, err := openLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, lines = 4, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				if _, err := fmt.Fprintf(out, "w%d line %d\n", w, i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var rotated []string
	for i := range 5 {
		name := fmt.Sprintf("%s.%d", path, i)
		if err := os.Rename(path, name); err != nil {
			t.Fatal(err)
		}
		rotated = append(rotated, name)
		if err := out.Reopen(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	out.Close()
	if n := countLines(t, append(rotated, path)...); n != writers*lines {
		t.Fatalf("%d lines in all files, want %d", n, writers*lines)
	}
	if _, err := out.Write([]byte("x\n")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

func TestRotatingLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.log")
	_, out, err := newLogger(&static.Log{FilePath: path, MaxSize: 1, MaxBackups: 1}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.(*rotatingLog); !ok {
		t.Fatalf("output is %T, want the rotating one", out)
	}
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range 1500 { // 1.5 MB: one rotation
		if _, err := out.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	// SIGUSR1 after an external rename still reopens the path.
	if err := os.Rename(path, path+".ext"); err != nil {
		t.Fatal(err)
	}
	if err := out.Reopen(); err != nil {
		t.Fatal(err)
	}
	out.Write([]byte("after reopen\n"))
	out.Close()
	entries, _ := os.ReadDir(dir)
	var backups int
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "gw-") && strings.HasSuffix(e.Name(), ".log") {
			backups++
		}
	}
	if backups != 1 {
		t.Fatalf("%d size-rotated backups in %v, want 1", backups, entries)
	}
	if b, _ := os.ReadFile(path); string(b) != "after reopen\n" {
		t.Fatalf("reopened file has %d bytes", len(b))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode of the log file: %v, %v", fi.Mode(), err)
	}
}

func TestLoggerToStderr(t *testing.T) {
	var buf bytes.Buffer
	log, out, err := newLogger(&static.Log{Level: "warn"}, &buf)
	if err != nil || out != nil {
		t.Fatalf("out %v, err %v", out, err)
	}
	log.Warn("hello")
	if !strings.Contains(buf.String(), "hello") {
		t.Fatalf("stderr got %q", buf.String())
	}
}
