// Package accesslog writes one line per HTTP request, in Traefik's Common Log
// Format or JSON, to stdout or a file that can be reopened for rotation.
//
// Lines are formatted on the request goroutine into pooled buffers. With
// bufferingSize > 0 they are handed to a single writer goroutine through a
// bounded queue; when the queue is full the line is dropped and counted
// (see Dropped) rather than slowing requests down. With bufferingSize 0
// each line is written before the request completes.
package accesslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/metrics/capture"
	"github.com/guan-gateway/guan/reqinfo"
)

// requestCount numbers requests across the process, like Traefik's
// RequestCount field.
var requestCount atomic.Uint64

// Logger writes the access log. A nil *Logger is disabled.
type Logger struct {
	set *settings
	out *output

	// addInternals logs requests routed by *@internal routers too.
	addInternals bool

	queue   chan *buffer // nil when unbuffered
	stop    chan struct{}
	stopped chan struct{}
	closed  atomic.Bool
	once    sync.Once
	dropped atomic.Uint64
}

// New opens the access log described by cfg. A nil cfg returns a nil,
// disabled Logger.
func New(cfg *static.AccessLog) (*Logger, error) {
	if cfg == nil {
		return nil, nil
	}
	set, err := parseSettings(cfg)
	if err != nil {
		return nil, err
	}
	out, err := openOutput(cfg.FilePath, cfg.BufferingSize > 0)
	if err != nil {
		return nil, err
	}
	l := &Logger{set: set, out: out, addInternals: cfg.AddInternals}
	if cfg.BufferingSize > 0 {
		l.queue = make(chan *buffer, cfg.BufferingSize)
		l.stop = make(chan struct{})
		l.stopped = make(chan struct{})
		go l.run()
	}
	return l, nil
}

// Dropped is the number of lines discarded because the buffer was full.
func (l *Logger) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// Reopen closes and reopens the log file, for rotation by an external tool
// (on SIGUSR1). It does nothing when logging to stdout.
func (l *Logger) Reopen() error {
	if l == nil {
		return nil
	}
	return l.out.reopen()
}

// Close writes out queued lines and closes the file. Lines logged after
// Close are discarded.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	var err error
	l.once.Do(func() {
		l.closed.Store(true)
		if l.queue != nil {
			close(l.stop)
			<-l.stopped
		}
		err = l.out.close()
	})
	return err
}

// Wrap logs the requests next serves on entryPoint. Router, service and
// upstream details come from reqinfo, filled in by the inner stages; when
// the request carries no reqinfo.Info yet, Wrap attaches one. Requests
// routed by an *@internal router (ping, API, dashboard, metrics,
// redirections) are left out unless accessLog.addInternals is set; requests
// a user router sends to an internal service are logged.
func (l *Logger) Wrap(entryPoint string, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, info := reqinfo.Ensure(r, entryPoint)
		start := info.Start // set by the entrypoint, which saw the request first
		c, owner := capture.Begin(w, r)
		returned := false
		defer func() {
			l.log(entryPoint, r, info, c, returned, start)
			if owner {
				c.Release()
			}
		}()
		next.ServeHTTP(c, r)
		returned = true
	})
}

func (l *Logger) log(entryPoint string, r *http.Request, info *reqinfo.Info, c *capture.Capture, returned bool, start time.Time) {
	if info.NoAccessLog || !l.addInternals && info.InternalRouter() {
		return
	}
	count := requestCount.Add(1)
	if l.closed.Load() {
		return
	}
	d := time.Since(start)
	status := c.ResponseStatus(returned)
	if !l.set.keepLine(status, info.RetryAttempts, d) {
		return
	}
	e := entry{
		entryPoint: entryPoint,
		r:          r,
		info:       info,
		respHeader: c.Header(),
		status:     status,
		size:       c.Size(),
		reqSize:    c.RequestSize(),
		count:      count,
		start:      start,
		duration:   d,
	}
	buf := getBuffer()
	if l.set.json {
		buf.b = appendJSON(buf.b, l.set, &e)
	} else {
		buf.b = appendCommon(buf.b, &e)
	}
	if l.queue == nil {
		l.out.write(buf.b)
		putBuffer(buf)
		return
	}
	select {
	case l.queue <- buf:
	default:
		l.dropped.Add(1)
		putBuffer(buf)
	}
}

// run is the writer goroutine of a buffered log.
func (l *Logger) run() {
	defer close(l.stopped)
	var lastWarn time.Time
	var warned uint64
	for {
		select {
		case buf := <-l.queue:
			l.out.write(buf.b)
			putBuffer(buf)
			if len(l.queue) == 0 {
				l.out.flush()
				if d := l.dropped.Load(); d != warned && time.Since(lastWarn) > 10*time.Second {
					slog.Warn("access log buffer full, lines dropped; raise accessLog.bufferingSize or use a faster destination",
						"dropped", d-warned)
					warned, lastWarn = d, time.Now()
				}
			}
		case <-l.stop:
			for {
				select {
				case buf := <-l.queue:
					l.out.write(buf.b)
					putBuffer(buf)
				default:
					l.out.flush()
					return
				}
			}
		}
	}
}

// output is the log destination. Its mutex orders writes against Reopen.
type output struct {
	mu   sync.Mutex
	path string // "" for stdout
	f    *os.File
	bw   *bufio.Writer // nil when each line is written at once
	err  error         // last write error, reported once
}

func openOutput(path string, buffered bool) (*output, error) {
	o := &output{path: path}
	if path == "" {
		o.f = os.Stdout
	} else {
		f, err := openFile(path)
		if err != nil {
			return nil, err
		}
		o.f = f
	}
	if buffered {
		o.bw = bufio.NewWriterSize(o.f, 64<<10)
	}
	return o, nil
}

func openFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("access log directory for %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access log file: %w (check accessLog.filePath and its permissions)", err)
	}
	return f, nil
}

func (o *output) dest() io.Writer {
	if o.bw != nil {
		return o.bw
	}
	return o.f
}

func (o *output) write(b []byte) {
	o.mu.Lock()
	o.report(writeAll(o.dest(), b))
	o.mu.Unlock()
}

func (o *output) flush() {
	if o.bw == nil {
		return
	}
	o.mu.Lock()
	o.report(o.bw.Flush())
	o.mu.Unlock()
}

func writeAll(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// report logs a write failure once until writes succeed again, so a full
// disk does not flood the application log.
func (o *output) report(err error) {
	if err == nil {
		o.err = nil
		return
	}
	if o.err == nil {
		slog.Error("access log write failed", "file", o.path, "err", err)
	}
	o.err = err
}

func (o *output) reopen() error {
	if o.path == "" {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	if o.bw != nil {
		errs = append(errs, o.bw.Flush())
	}
	if !isStdStream(o.f) {
		errs = append(errs, o.f.Close())
	}
	f, err := openFile(o.path)
	if err != nil {
		// Keep logging somewhere rather than into a closed file.
		o.f = os.Stderr
		if o.bw != nil {
			o.bw.Reset(o.f)
		}
		return errors.Join(append(errs, fmt.Errorf("reopen access log (logging to stderr meanwhile): %w", err))...)
	}
	o.f = f
	if o.bw != nil {
		o.bw.Reset(f)
	}
	return errors.Join(errs...)
}

func (o *output) close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var err error
	if o.bw != nil {
		err = o.bw.Flush()
	}
	if !isStdStream(o.f) {
		err = errors.Join(err, o.f.Close())
	}
	return err
}

// isStdStream reports whether f is the process's stdout or stderr, which
// the access log writes to but never closes: the application log may share
// them, and a closed fd 2 would silently swallow every later line.
func isStdStream(f *os.File) bool {
	return f == os.Stdout || f == os.Stderr
}

// buffer is a pooled line buffer.
type buffer struct{ b []byte }

var bufPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 1024)} }}

func getBuffer() *buffer { return bufPool.Get().(*buffer) }

func putBuffer(b *buffer) {
	if cap(b.b) > 64<<10 {
		return // let unusually large lines go
	}
	b.b = b.b[:0]
	bufPool.Put(b)
}
