package accesslog

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/metrics"
	"github.com/guan-gateway/guan/metrics/capture"
	"github.com/guan-gateway/guan/reqinfo"
)

// proxyStage plays the router and service stages.
func proxyStage(w http.ResponseWriter, r *http.Request) {
	info := reqinfo.From(r.Context())
	info.Router = "api@file"
	info.Service = "api-svc@file"
	info.ServiceURL = "http://127.0.0.1:9001"
	info.ServiceAddr = "127.0.0.1:9001"
	info.OriginStatus = http.StatusOK
	info.OriginSize = 5
	info.OriginDuration = time.Millisecond
	info.ClientUsername = r.Header.Get("X-Test-User")
	if r.URL.Path == "/retried" {
		info.RetryAttempts = 1
	}
	io.Copy(io.Discard, r.Body)
	w.Header().Set("X-Backend", "b1")
	w.Header().Set("Set-Cookie", "secret=1")
	if r.URL.Path == "/missing" {
		w.WriteHeader(http.StatusNotFound)
	}
	io.WriteString(w, "hello")
}

// started makes the request look like it began d ago, as the entrypoint
// would record it, so duration filters are tested without sleeping.
func started(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqinfo.Info{EntryPoint: "web", Start: time.Now().Add(-d)}
		next.ServeHTTP(w, r.WithContext(reqinfo.With(r.Context(), info)))
	})
}

func newLogger(t *testing.T, cfg *static.AccessLog) (*Logger, string) {
	t.Helper()
	if cfg.FilePath == "" {
		cfg.FilePath = filepath.Join(t.TempDir(), "logs", "access.log")
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, cfg.FilePath
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestCommonFormat(t *testing.T) {
	l, path := newLogger(t, &static.AccessLog{})
	srv := httptest.NewServer(l.Wrap("web", http.HandlerFunc(proxyStage)))
	defer srv.Close()
	get(t, srv.Client(), srv.URL+"/missing?q=1", "Referer", "http://example.com/", "User-Agent", `evil" agent`, "X-Test-User", "alice")
	get(t, srv.Client(), srv.URL+"/")
	l.Close()

	lines := readLines(t, path)
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %q", len(lines), lines)
	}
	re := regexp.MustCompile(`^127\.0\.0\.1 - alice \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /missing\?q=1 HTTP/1\.1" 404 5 "http://example\.com/" "evil\\" agent" \d+ "api@file" "http://127\.0\.0\.1:9001" \d+ms$`)
	if !re.MatchString(lines[0]) {
		t.Errorf("line 1 does not match Traefik's CLF:\n%s", lines[0])
	}
	re2 := regexp.MustCompile(`^127\.0\.0\.1 - - \[.*\] "GET / HTTP/1\.1" 200 5 "-" "Go-http-client/1\.1" \d+ "api@file" "http://127\.0\.0\.1:9001" \d+ms$`)
	if !re2.MatchString(lines[1]) {
		t.Errorf("line 2 does not match Traefik's CLF:\n%s", lines[1])
	}
}

func TestJSONFormat(t *testing.T) {
	l, path := newLogger(t, &static.AccessLog{
		Format: "json",
		Fields: &static.AccessLogFields{Headers: &static.FieldHeaders{
			DefaultMode: "drop",
			Names:       map[string]string{"user-agent": "keep", "Authorization": "redact", "X-Backend": "keep"},
		}},
	})
	srv := httptest.NewTLSServer(l.Wrap("websecure", http.HandlerFunc(proxyStage)))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/path?x=\"1\"", strings.NewReader("0123456789"))
	req.Header.Set("Authorization", "Bearer secret")
	req.Header.Set("User-Agent", "tester\u2028")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.Close()

	lines := readLines(t, path)
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1", len(lines))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, lines[0])
	}
	want := map[string]any{
		"ClientHost": "127.0.0.1", "ClientUsername": "-",
		"DownstreamContentSize": 5.0, "DownstreamStatus": 200.0,
		"OriginContentSize": 5.0, "OriginDuration": 1e6, "OriginStatus": 200.0,
		"RequestContentSize": 10.0, "RequestHost": "127.0.0.1", "RequestMethod": "POST",
		"RequestPath": `/path?x="1"`, "RequestProtocol": "HTTP/1.1", "RequestScheme": "https",
		"RetryAttempts": 0.0, "RouterName": "api@file", "ServiceName": "api-svc@file",
		"ServiceURL": "http://127.0.0.1:9001", "ServiceAddr": "127.0.0.1:9001",
		"TLSVersion": "1.3", "entryPointName": "websecure", "level": "info", "msg": "",
		"request_User-Agent": "tester\u2028", "request_Authorization": "REDACTED",
		"downstream_X-Backend": "b1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for _, k := range []string{"ClientAddr", "ClientPort", "Duration", "Overhead", "RequestAddr", "RequestCount", "RequestPort", "StartLocal", "StartUTC", "TLSCipher", "time"} {
		if _, ok := got[k]; !ok {
			t.Errorf("field %s missing", k)
		}
	}
	for _, k := range []string{"downstream_Set-Cookie", "request_Content-Length"} {
		if _, ok := got[k]; ok {
			t.Errorf("dropped header %s logged", k)
		}
	}
	if d, o := got["Duration"].(float64), got["Overhead"].(float64); d-o != 1e6 {
		t.Errorf("Overhead %v is not Duration %v minus OriginDuration", o, d)
	}
	if _, err := time.Parse(time.RFC3339Nano, got["StartUTC"].(string)); err != nil {
		t.Errorf("StartUTC: %v", err)
	}
}

func TestFieldSelection(t *testing.T) {
	l, path := newLogger(t, &static.AccessLog{
		Format: "json",
		Fields: &static.AccessLogFields{DefaultMode: "drop", Names: map[string]string{"RequestPath": "keep", "downstreamstatus": "keep", "GzipRatio": "keep"}},
	})
	h := l.Wrap("web", http.HandlerFunc(proxyStage))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/only", nil))
	l.Close()
	var got map[string]any
	if err := json.Unmarshal([]byte(readLines(t, path)[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"RequestPath": "/only", "DownstreamStatus": 200.0}
	for _, k := range []string{"level", "msg", "time"} {
		want[k] = got[k]
	}
	if len(got) != len(want) {
		t.Fatalf("got fields %v, want only %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestFilters(t *testing.T) {
	tests := []struct {
		name    string
		filters *static.AccessLogFilters
		path    string
		age     time.Duration
		logged  bool
	}{
		{"no filters", nil, "/", 0, true},
		{"empty filters", &static.AccessLogFilters{}, "/", 0, true},
		{"status in range", &static.AccessLogFilters{StatusCodes: []string{"400-499"}}, "/missing", 0, true},
		{"status out of range", &static.AccessLogFilters{StatusCodes: []string{"400-499", "500"}}, "/", 0, false},
		{"retried kept", &static.AccessLogFilters{RetryAttempts: true}, "/retried", 0, true},
		{"not retried dropped", &static.AccessLogFilters{RetryAttempts: true}, "/", 0, false},
		{"slow kept", &static.AccessLogFilters{MinDuration: durationPtr(time.Second)}, "/", 2 * time.Second, true},
		{"fast dropped", &static.AccessLogFilters{MinDuration: durationPtr(time.Second)}, "/", 0, false},
		{"any filter matching keeps", &static.AccessLogFilters{StatusCodes: []string{"500"}, RetryAttempts: true}, "/retried", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := newLogger(t, &static.AccessLog{Filters: tt.filters})
			h := started(tt.age, l.Wrap("web", http.HandlerFunc(proxyStage)))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tt.path, nil))
			l.Close()
			if got := len(readLines(t, path)) == 1; got != tt.logged {
				t.Fatalf("logged = %v, want %v", got, tt.logged)
			}
		})
	}
}

// Requests routed by *@internal routers are logged only with
// accessLog.addInternals; a user router to an internal service always is.
func TestInternalRouters(t *testing.T) {
	routed := func(router, service string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := reqinfo.From(r.Context())
			info.Router, info.Service = router, service
			io.WriteString(w, "ok")
		})
	}
	for _, add := range []bool{false, true} {
		l, path := newLogger(t, &static.AccessLog{Format: "json", AddInternals: add})
		for _, rs := range [][2]string{
			{"ping@internal", "ping@internal"},
			{"api@internal", "api@internal"},
			{"web-to-websecure@internal", ""},
			{"demo@file", "demo@internal"},
			{"", ""}, // no router matched: 404 on the entrypoint
		} {
			l.Wrap("web", routed(rs[0], rs[1])).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
		l.Close()
		var routers []string
		for _, line := range readLines(t, path) {
			var e map[string]any
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			name, _ := e["RouterName"].(string)
			routers = append(routers, name)
		}
		want := []string{"demo@file", ""}
		if add {
			want = []string{"ping@internal", "api@internal", "web-to-websecure@internal", "demo@file", ""}
		}
		if fmt.Sprint(routers) != fmt.Sprint(want) {
			t.Errorf("addInternals=%v: logged routers %q, want %q", add, routers, want)
		}
	}
}

func durationPtr(d time.Duration) *config.Duration {
	c := config.Duration(d)
	return &c
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  static.AccessLog
		want string
	}{
		{"format", static.AccessLog{Format: "xml"}, "accessLog.format"},
		{"status code", static.AccessLog{Filters: &static.AccessLogFilters{StatusCodes: []string{"abc"}}}, "statusCodes"},
		{"reversed range", static.AccessLog{Filters: &static.AccessLogFilters{StatusCodes: []string{"500-400"}}}, "smaller code first"},
		{"field mode", static.AccessLog{Fields: &static.AccessLogFields{DefaultMode: "maybe"}}, "fields.defaultMode"},
		{"field name mode", static.AccessLog{Fields: &static.AccessLogFields{Names: map[string]string{"Duration": "hide"}}}, "fields.names.Duration"},
		{"header mode", static.AccessLog{Fields: &static.AccessLogFields{Headers: &static.FieldHeaders{DefaultMode: "mask"}}}, "headers.defaultMode"},
		{"buffer", static.AccessLog{BufferingSize: -1}, "bufferingSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if l, err := New(nil); l != nil || err != nil {
		t.Fatalf("New(nil) = %v, %v; want a disabled logger", l, err)
	}
}

func TestBufferedWritesAll(t *testing.T) {
	l, path := newLogger(t, &static.AccessLog{BufferingSize: 1000})
	srv := httptest.NewServer(l.Wrap("web", http.HandlerFunc(proxyStage)))
	defer srv.Close()
	const n = 200
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range n / 4 {
				get(t, srv.Client(), srv.URL+"/")
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(readLines(t, path)) + int(l.Dropped()); got != n {
		t.Fatalf("lines+dropped = %d, want %d", got, n)
	}
}

// A full buffer drops lines instead of holding up requests.
func TestFullBufferDoesNotBlock(t *testing.T) {
	l, path := newLogger(t, &static.AccessLog{BufferingSize: 2})
	h := l.Wrap("web", http.HandlerFunc(proxyStage))
	l.out.mu.Lock() // a stalled destination
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("requests blocked on a stalled access log")
	}
	l.out.mu.Unlock()
	if l.Dropped() == 0 {
		t.Fatal("no line counted as dropped")
	}
	l.Close()
	if got := len(readLines(t, path)) + int(l.Dropped()); got != 50 {
		t.Fatalf("lines+dropped = %d, want 50", got)
	}
}

func TestReopen(t *testing.T) {
	for _, buffering := range []int64{0, 10} {
		l, path := newLogger(t, &static.AccessLog{BufferingSize: buffering})
		h := l.Wrap("web", http.HandlerFunc(proxyStage))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/first", nil))
		waitForLines(t, path, 1)
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
		if err := l.Reopen(); err != nil {
			t.Fatal(err)
		}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/second", nil))
		l.Close()
		old, cur := readLines(t, path+".1"), readLines(t, path)
		if len(old) != 1 || !strings.Contains(old[0], "/first") || len(cur) != 1 || !strings.Contains(cur[0], "/second") {
			t.Fatalf("buffering %d: rotated file %q, new file %q", buffering, old, cur)
		}
	}
}

// A reopen that fails falls back to stderr; the next reopen must leave
// stderr open (the application log may be writing there).
func TestReopenAfterFailureKeepsStderrOpen(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	saved := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = saved }()

	l, path := newLogger(t, &static.AccessLog{})
	h := l.Wrap("web", http.HandlerFunc(proxyStage))
	dir := filepath.Dir(path)
	// Make the directory unusable: a regular file where it was.
	if err := os.Rename(dir, dir+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil || !strings.Contains(err.Error(), "logging to stderr meanwhile") {
		t.Fatalf("reopen into an unusable directory: err = %v", err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/fallback", nil))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.Contains(line, "/fallback") {
		t.Fatalf("stderr got %q, %v", line, err)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatalf("reopen after the directory is fixed: %v", err)
	}
	if _, err := w.Write([]byte("still open\n")); err != nil {
		t.Fatalf("stderr was closed by the reopen: %v", err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/back", nil))
	l.Close()
	if _, err := w.Write([]byte("still open\n")); err != nil {
		t.Fatalf("stderr was closed by Close: %v", err)
	}
	if cur := readLines(t, path); len(cur) != 1 || !strings.Contains(cur[0], "/back") {
		t.Fatalf("reopened file has %q", cur)
	}
}

func waitForLines(t *testing.T, path string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if b, _ := os.ReadFile(path); strings.Count(string(b), "\n") >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never got %d lines", path, n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestHijackedLogged101(t *testing.T) {
	l, path := newLogger(t, &static.AccessLog{})
	srv := httptest.NewServer(l.Wrap("web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		conn.Close()
	})))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitForLines(t, path, 1)
	l.Close()
	if line := readLines(t, path)[0]; !strings.Contains(line, `HTTP/1.1" 101 0 `) {
		t.Fatalf("upgrade not logged as 101: %s", line)
	}
}

func TestCommonLineFieldCount(t *testing.T) {
	// Hostile values must not change the number of space-separated fields
	// outside quotes, so log parsers keep working.
	l, path := newLogger(t, &static.AccessLog{})
	h := l.Wrap("web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.From(r.Context()).ClientUsername = "bob smith\n"
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", "a\"b\\c\x01")
	h.ServeHTTP(httptest.NewRecorder(), r)
	l.Close()
	line := readLines(t, path)[0]
	if !strings.Contains(line, ` - bob\x20smith\x0a [`) || !strings.Contains(line, `"a\"b\\c\x01"`) {
		t.Fatalf("values not escaped: %s", line)
	}
	sc := bufio.NewScanner(strings.NewReader(line))
	sc.Split(bufio.ScanWords)
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 16 {
		t.Fatalf("CLF line has %d words, want 16: %s", n, line)
	}
}

func benchmarkWrap(b *testing.B, format string) {
	l, err := New(&static.AccessLog{FilePath: os.DevNull, Format: format, BufferingSize: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	h := l.Wrap("web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := reqinfo.From(r.Context())
		info.Router, info.Service, info.ServiceURL = "api@file", "api-svc@file", "http://127.0.0.1:9001"
		w.WriteHeader(200)
	}))
	r := httptest.NewRequest("GET", "/some/path?x=1", nil)
	r.Header.Set("User-Agent", "bench/1.0")
	r = r.WithContext(reqinfo.With(r.Context(), &reqinfo.Info{}))
	w := discardWriter{http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func BenchmarkWrapCommon(b *testing.B) { benchmarkWrap(b, "common") }
func BenchmarkWrapJSON(b *testing.B)   { benchmarkWrap(b, "json") }

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// The access log and metrics share one capture per request.
func TestSharesCaptureWithMetrics(t *testing.T) {
	m := metrics.New(&static.Prometheus{})
	l, path := newLogger(t, &static.AccessLog{})
	wrappers := make(chan string, 1)
	h := m.Wrap("web", l.Wrap("web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := w.(*capture.Capture)
		switch {
		case !ok:
			wrappers <- fmt.Sprintf("handler got %T, want *capture.Capture", w)
		case isCapture(c.Unwrap()):
			wrappers <- "request wrapped twice"
		default:
			wrappers <- ""
		}
		proxyStage(w, r)
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	get(t, srv.Client(), srv.URL+"/missing")
	if msg := <-wrappers; msg != "" {
		t.Fatal(msg)
	}
	l.Close()
	if lines := readLines(t, path); len(lines) != 1 || !strings.Contains(lines[0], `" 404 5 `) {
		t.Fatalf("access log: %q", lines)
	}
}

func isCapture(w http.ResponseWriter) bool {
	_, ok := w.(*capture.Capture)
	return ok
}
