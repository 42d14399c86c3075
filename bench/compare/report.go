package main

import (
	"fmt"
	"os"
	"os/exec"

	"runtime"
	"slices"
	"strings"
	"time"
)

type report struct {
	o         options
	cpus      int
	placement placement
	products  []*product
	tools     []string
	order     []scenario
	results   map[string]map[string][]result // scenario id → product → rounds
	elapsed   time.Duration
}

func newReport(o options, cpus int, pl placement, products []*product, r runner) *report {
	return &report{
		o: o, cpus: cpus, placement: pl, products: products,
		tools:   []string{wrkVersion(), versionOf("h2load", "--version")},
		results: map[string]map[string][]result{},
	}
}

func (r *report) begin(sc scenario) {
	fmt.Printf("(%s) %s\n", sc.id, sc.title)
	r.order = append(r.order, sc)
	r.results[sc.id] = map[string][]result{}
}

func (r *report) add(id, product string, res result) {
	r.results[id][product] = append(r.results[id][product], res)
}

// median of one figure over the rounds of a scenario and product; 0 when
// there is none.
func (r *report) median(id, product string, figure func(result) float64) float64 {
	rounds := r.results[id][product]
	if len(rounds) == 0 {
		return 0
	}
	v := make([]float64, len(rounds))
	for i, res := range rounds {
		v[i] = figure(res)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

var (
	rps     = func(m result) float64 { return m.rps }
	p50     = func(m result) float64 { return m.p50 }
	p99     = func(m result) float64 { return m.p99 }
	p999    = func(m result) float64 { return m.p999 }
	cpu     = func(m result) float64 { return m.cpuPer100k }
	peakMB  = func(m result) float64 { return float64(m.peakKB) / 1024 }
	errs    = func(m result) float64 { return float64(m.errors) }
	targets = []string{"nginx", "HAProxy", "Caddy", "direct"}
)

func (r *report) markdown() string {
	var b strings.Builder
	mode := fmt.Sprintf("full: %d interleaved rounds of %s (after %s of unmeasured load), medians", r.o.rounds, r.o.duration, r.o.warmup)
	if r.o.quick {
		mode = fmt.Sprintf("quick: %d round of %s — proves the harness works; not for comparison", r.o.rounds, r.o.duration)
	}
	host, _ := os.Hostname()
	kernel := strings.TrimSpace(firstLine(versionOf("uname", "-sr")))
	fmt.Fprintf(&b, "# Guan side-by-side benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Mode: %s; the whole run took %s.\n", mode, r.elapsed.Round(time.Second))
	fmt.Fprintf(&b, "- Machine: %s, %s, %s, %s.\n", host, kernel, runtime.GOARCH, cpuModel())
	fmt.Fprintf(&b, "- CPUs: %s.\n", r.placement.note)
	for _, p := range r.products {
		fmt.Fprintf(&b, "- %s: %s\n", p.name, strings.ReplaceAll(p.version, "\n", " "))
	}
	fmt.Fprintf(&b, "- Load: %s\n", strings.Join(r.tools, "; "))
	b.WriteString("- Columns: requests/s; latency percentiles in ms as the load generator saw them; CPU seconds the proxy (all its processes) used per 100k requests; the proxy's peak memory (PSS summed over its processes, sampled every 100 ms); failed requests (socket errors, non-2xx) over all rounds.\n\n")

	for _, sc := range r.order {
		fmt.Fprintf(&b, "## (%s) %s\n\n", sc.id, sc.title)
		b.WriteString("| target | req/s | p50 ms | p99 ms | p99.9 ms | CPU s/100k req | peak MB | failed |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range r.products {
			if len(r.results[sc.id][p.name]) == 0 {
				continue
			}
			var failed float64
			for _, res := range r.results[sc.id][p.name] {
				failed += errs(res)
			}
			cpuCell, memCell := fmt.Sprintf("%.2f", r.median(sc.id, p.name, cpu)), fmt.Sprintf("%.1f", r.median(sc.id, p.name, peakMB))
			if p.command == nil {
				cpuCell, memCell = "–", "–"
			}
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.2f | %s | %s | %.0f |\n", p.name,
				r.median(sc.id, p.name, rps), r.median(sc.id, p.name, p50), r.median(sc.id, p.name, p99),
				r.median(sc.id, p.name, p999), cpuCell, memCell, failed)
		}
		b.WriteString("\n")
		if sc.id == "8" {
			d50, d99, d999 := r.median("8", "direct", p50), r.median("8", "direct", p99), r.median("8", "direct", p999)
			if d50 > 0 {
				b.WriteString("Added latency over direct (ms): ")
				var parts []string
				for _, p := range r.products {
					if p.command == nil || len(r.results["8"][p.name]) == 0 {
						continue
					}
					parts = append(parts, fmt.Sprintf("%s p50 +%.3f, p99 +%.3f, p99.9 +%.3f", p.name,
						r.median("8", p.name, p50)-d50, r.median("8", p.name, p99)-d99, r.median("8", p.name, p999)-d999))
				}
				b.WriteString(strings.Join(parts, " · ") + "\n\n")
			}
			continue
		}
		if g := r.median(sc.id, "Guan", rps); g > 0 {
			var parts []string
			for _, t := range targets {
				if o := r.median(sc.id, t, rps); o > 0 {
					parts = append(parts, fmt.Sprintf("Guan/%s %.2f× req/s, %.2f× p99", t, g/o, r.median(sc.id, "Guan", p99)/r.median(sc.id, t, p99)))
				}
			}
			if len(parts) > 0 {
				b.WriteString(strings.Join(parts, " · ") + "\n\n")
			}
		}
	}
	b.WriteString(r.targetsTable())
	return b.String()
}

// targetsTable checks the figures the performance issue sets, on this run.
func (r *report) targetsTable() string {
	type check struct {
		name, measured string
		ok, known      bool
	}
	var rows []check
	ratio := func(id, a, b string, f func(result) float64) (float64, bool) {
		x, y := r.median(id, a, f), r.median(id, b, f)
		if x == 0 || y == 0 {
			return 0, false
		}
		return x / y, true
	}
	add := func(name string, v float64, known bool, format string, ok bool) {
		c := check{name: name, known: known}
		if known {
			c.measured, c.ok = fmt.Sprintf(format, v), ok
		}
		rows = append(rows, c)
	}
	for _, id := range []string{"1", "2"} {
		v, k := ratio(id, "Guan", "Caddy", rps)
		add(fmt.Sprintf("(%s) Guan ≥ 1.3× Caddy req/s", id), v, k, "%.2f×", v >= 1.3)
		v, k = ratio(id, "Guan", "nginx", rps)
		add(fmt.Sprintf("(%s) Guan ≥ 0.8× nginx req/s", id), v, k, "%.2f×", v >= 0.8)
		v, k = ratio(id, "Guan", "nginx", p99)
		add(fmt.Sprintf("(%s) Guan p99 ≤ 1.5× nginx p99", id), v, k, "%.2f×", v <= 1.5)
	}
	v, k := ratio("3", "Guan", "Caddy", rps)
	add("(3) HTTP/2: Guan ≥ 1.3× Caddy req/s", v, k, "%.2f×", v >= 1.3)
	g6, g1 := r.median("6", "Guan", rps), r.median("1", "Guan", rps)
	add("(6) 10k routers within 5% of Guan's (1)", g6/g1, g6 > 0 && g1 > 0, "%.3f× of (1)", g6/g1 >= 0.95)
	g6c := r.median("6c", "Guan", rps)
	add("(6) 10k routers within 5% of Guan's one router under (6)'s load generator (6c)", g6/g6c, g6 > 0 && g6c > 0, "%.3f× of (6c)", g6/g6c >= 0.95)
	g8, d8 := r.median("8", "Guan", p50), r.median("8", "direct", p50)
	add("(8) added p50 over direct at half load ≤ 0.2 ms", g8-d8, g8 > 0 && d8 > 0, "+%.3f ms", g8-d8 <= 0.2)
	gm := r.median("2", "Guan", peakMB)
	other := max(r.median("2", "nginx", peakMB), r.median("2", "HAProxy", peakMB))
	add("(2) Guan peak memory ≤ 2× max(nginx, HAProxy)", gm/other, gm > 0 && other > 0, fmt.Sprintf("%.1f MB vs %.1f MB: %%.2f×", gm, other), gm <= 2*other)

	var b strings.Builder
	b.WriteString("## Targets\n\n| target | measured | met |\n|---|---:|---|\n")
	for _, c := range rows {
		switch {
		case !c.known:
			fmt.Fprintf(&b, "| %s | not measured | – |\n", c.name)
		case c.ok:
			fmt.Fprintf(&b, "| %s | %s | yes |\n", c.name, c.measured)
		default:
			fmt.Fprintf(&b, "| %s | %s | **no** |\n", c.name, c.measured)
		}
	}
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

// wrkVersion: wrk prints its version in its usage text and exits with 1.
func wrkVersion() string {
	out, _ := exec.Command("wrk", "-v").CombinedOutput()
	return strings.TrimSpace(firstLine(string(out)))
}
