package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/guan-gateway/guan/config/static"
)

// logOutput is the application log file: written by the slog handler,
// reopened on SIGUSR1 after an external tool renamed it, closed on exit.
type logOutput interface {
	io.Writer
	Reopen() error
	Close() error
}

// newLogger builds the application logger from the log section. The
// returned output is nil when the log goes to stderr.
func newLogger(cfg *static.Log, stderr io.Writer) (*slog.Logger, logOutput, error) {
	level := slog.LevelError
	var out logOutput
	var w io.Writer = stderr
	if cfg != nil {
		switch strings.ToUpper(cfg.Level) {
		case "TRACE", "DEBUG":
			level = slog.LevelDebug
		case "INFO":
			level = slog.LevelInfo
		case "WARN", "WARNING":
			level = slog.LevelWarn
		}
		if cfg.FilePath != "" {
			var err error
			if cfg.Rotates() {
				out, err = openRotatingLog(cfg)
			} else {
				out, err = openLogFile(cfg.FilePath)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("log.filePath: %w", err)
			}
			w = out
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg != nil && strings.EqualFold(cfg.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), out, nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), out, nil
}

// createLogFile opens path for appending, creating it and its directory.
func createLogFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// logFile is a log file that can be reopened. Writes load the current
// *os.File from an atomic pointer and take no lock; Reopen opens the path
// afresh, swaps the new file in and closes the old one.
type logFile struct {
	path string
	f    atomic.Pointer[os.File]

	mu     sync.Mutex // orders Reopen and Close
	closed bool
}

func openLogFile(path string) (*logFile, error) {
	f, err := createLogFile(path)
	if err != nil {
		return nil, err
	}
	l := &logFile{path: path}
	l.f.Store(f)
	return l, nil
}

func (l *logFile) Write(p []byte) (int, error) {
	for {
		f := l.f.Load()
		n, err := f.Write(p)
		// A write that raced with Reopen found the old file already
		// closed: write the line to the new file rather than lose it.
		if n == 0 && errors.Is(err, os.ErrClosed) && l.f.Load() != f {
			continue
		}
		return n, err
	}
}

// Reopen starts writing to a new file at the configured path. When the
// path cannot be opened the log keeps going to the file it had.
func (l *logFile) Reopen() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	f, err := createLogFile(l.path)
	if err != nil {
		return fmt.Errorf("reopen log file (still writing to the previous one): %w", err)
	}
	return l.f.Swap(f).Close()
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Load().Close()
}

// rotatingLog rotates the log file by size and prunes old ones
// (log.maxSize, maxBackups, maxAge, compress).
type rotatingLog struct{ *lumberjack.Logger }

func openRotatingLog(cfg *static.Log) (*rotatingLog, error) {
	// Create the file (0644, kept across rotations) and check it can be
	// written now rather than at the first line.
	f, err := createLogFile(cfg.FilePath)
	if err != nil {
		return nil, err
	}
	f.Close()
	return &rotatingLog{&lumberjack.Logger{
		Filename:   cfg.FilePath,
		MaxSize:    cfg.MaxSize,
		MaxBackups: cfg.MaxBackups,
		MaxAge:     cfg.MaxAge,
		Compress:   cfg.Compress,
	}}, nil
}

// Reopen closes the file so that the next line opens the path again. When
// the path cannot be opened the log keeps going to the file it had.
func (r *rotatingLog) Reopen() error {
	f, err := createLogFile(r.Filename)
	if err != nil {
		return fmt.Errorf("reopen log file (still writing to the previous one): %w", err)
	}
	f.Close()
	return r.Logger.Close()
}
