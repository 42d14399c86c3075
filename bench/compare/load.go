package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// measurement is what one load-generator run reports.
type measurement struct {
	requests       int64
	seconds        float64
	errors         int64   // socket errors and non-2xx/3xx answers
	p50, p99, p999 float64 // latency, milliseconds
}

func (m measurement) rps() float64 {
	if m.seconds == 0 {
		return 0
	}
	return float64(m.requests) / m.seconds
}

// load describes the traffic of a scenario.
type load struct {
	tool    string // "wrk", "h2load" or "rate" (constantRate)
	conns   int
	streams int // h2load: concurrent streams per connection
	tls     bool
	post    bool   // 1 KB request body
	path    string // /0 or /1k (optionally under /api)
	close   bool   // Connection: close on every request
	hosts   int    // spread requests over this many hosts (0: bench.local)
	// prepared: wrk hands out this many requests prepared by its Lua
	// script, one per request() call, spread over hosts (set for (6) and
	// for its control, whose requests all go to bench.local).
	prepared int
	auth     bool    // send the basicAuth credentials
	rate     float64 // fixed total rate for "rate"
}

// wrkScript ends every wrk run: it prints the summary in a form this
// program parses, with the 99.9th percentile that wrk's own output lacks.
const wrkDone = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("GUAN_BENCH requests=%d duration_us=%d errors=%d p50=%d p99=%d p999=%d\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
`

var wrkLine = regexp.MustCompile(`GUAN_BENCH requests=(\d+) duration_us=(\d+) errors=(\d+) p50=(\d+) p99=(\d+) p999=(\d+)`)

// runner starts load generators, pinned to their CPUs where the machine has
// CPUs to spare.
type runner struct {
	dir     string
	pin     []string // taskset prefix for the load generator, or nil
	threads int
}

func (r runner) wrk(l load, addr string, d time.Duration) (measurement, error) {
	var script strings.Builder
	headers := map[string]string{"Host": benchHost}
	if l.close {
		headers["Connection"] = "close"
	}
	if l.auth {
		headers["Authorization"] = basicAuthorization()
	}
	if l.post {
		script.WriteString("wrk.method = \"POST\"\nwrk.body = string.rep(\"x\", 1024)\nwrk.headers[\"Content-Type\"] = \"text/plain\"\n")
	}
	for k, v := range headers {
		fmt.Fprintf(&script, "wrk.headers[%q] = %q\n", k, v)
	}
	if l.prepared > 0 {
		// Requests are formatted once per thread; per request wrk only
		// hands out the next prepared string.
		host := fmt.Sprintf("%q", benchHost)
		if l.hosts > 0 {
			host = fmt.Sprintf(`"h" .. ((i %% %d) * %d) .. ".%s"`, l.hosts, manyRoutes/l.hosts, benchHost)
		}
		fmt.Fprintf(&script, `local reqs = {}
local n = 0
init = function(args)
  for i = 0, %d do
    local h = {}
    for k, v in pairs(wrk.headers) do h[k] = v end
    h["Host"] = %s
    reqs[i + 1] = wrk.format(nil, nil, h)
  end
end
request = function()
  n = n + 1
  if n > #reqs then n = 1 end
  return reqs[n]
end
`, l.prepared-1, host)
	}
	script.WriteString(wrkDone)
	path := filepath.Join(r.dir, "wrk.lua")
	if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
		return measurement{}, err
	}
	scheme := "http"
	if l.tls {
		scheme = "https"
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := append(slices.Clone(r.pin), "wrk", "-t", strconv.Itoa(r.threads), "-c", strconv.Itoa(l.conns),
		"-d", fmt.Sprintf("%ds", secs), "--timeout", "5s", "-s", path, fmt.Sprintf("%s://%s%s", scheme, addr, l.path))
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return measurement{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	m := wrkLine.FindStringSubmatch(string(out))
	if m == nil {
		return measurement{}, fmt.Errorf("wrk printed no summary: %s", out)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(m[i], 10, 64); return v }
	return measurement{
		requests: n(1), seconds: float64(n(2)) / 1e6, errors: n(3),
		p50: float64(n(4)) / 1000, p99: float64(n(5)) / 1000, p999: float64(n(6)) / 1000,
	}, nil
}

var (
	h2Finished = regexp.MustCompile(`finished in ([\d.]+)(m?s)`)
	h2Requests = regexp.MustCompile(`requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Status   = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

func (r runner) h2load(l load, addr string, d time.Duration) (measurement, error) {
	logPath := filepath.Join(r.dir, "h2load.log")
	os.Remove(logPath)
	scheme := "http"
	if l.tls {
		scheme = "https"
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	args := append(slices.Clone(r.pin), "h2load",
		"-c", strconv.Itoa(l.conns), "-t", strconv.Itoa(min(r.threads, l.conns)), "-D", strconv.Itoa(secs),
		"--connect-to", addr, "--log-file", logPath)
	if l.streams > 0 {
		args = append(args, "-m", strconv.Itoa(l.streams))
	}
	if l.post {
		body := filepath.Join(r.dir, "body-1k")
		if err := os.WriteFile(body, []byte(strings.Repeat("x", 1024)), 0o644); err != nil {
			return measurement{}, err
		}
		args = append(args, "-d", body, "-H", "content-type: text/plain")
	}
	if l.auth {
		args = append(args, "-H", "authorization: "+basicAuthorization())
	}
	args = append(args, fmt.Sprintf("%s://%s%s", scheme, benchHost, l.path))
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return measurement{}, fmt.Errorf("h2load: %v: %s", err, out)
	}
	text := string(out)
	fin, req, st := h2Finished.FindStringSubmatch(text), h2Requests.FindStringSubmatch(text), h2Status.FindStringSubmatch(text)
	if fin == nil || req == nil || st == nil {
		return measurement{}, fmt.Errorf("h2load printed no summary: %s", text)
	}
	atoi := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	secsRun, _ := strconv.ParseFloat(fin[1], 64)
	if fin[2] == "ms" {
		secsRun /= 1000
	}
	m := measurement{
		requests: atoi(st[1]) + atoi(st[2]),
		seconds:  secsRun,
		errors:   atoi(req[2]) + atoi(req[3]) + atoi(req[4]) + atoi(st[3]) + atoi(st[4]),
	}
	lat, err := readLatencies(logPath)
	if err != nil {
		return measurement{}, err
	}
	m.p50, m.p99, m.p999 = percentile(lat, 50), percentile(lat, 99), percentile(lat, 99.9)
	return m, nil
}

// readLatencies reads h2load's per-request log: start time, status and
// microseconds to the end of the response, tab-separated.
func readLatencies(path string) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("h2load log: %w", err)
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 3 {
			continue
		}
		us, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			continue
		}
		out = append(out, us/1000)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("h2load log %s is empty", path)
	}
	slices.Sort(out)
	return out, sc.Err()
}

// percentile of sorted values, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
