package main

import (
	"strings"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {99, 10}, {10, 1}, {100, 10}, {0, 1}} {
		if got := percentile(v, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty input must give 0")
	}
}

func TestMedianOverRounds(t *testing.T) {
	r := &report{results: map[string]map[string][]result{"1": {
		"Guan":  {{rps: 30}, {rps: 10}, {rps: 20}},
		"nginx": {{rps: 10}, {rps: 40}},
	}}}
	if got := r.median("1", "Guan", rps); got != 20 {
		t.Errorf("odd rounds: median %v, want 20", got)
	}
	if got := r.median("1", "nginx", rps); got != 25 {
		t.Errorf("even rounds: median %v, want 25", got)
	}
	if got := r.median("1", "Caddy", rps); got != 0 {
		t.Errorf("no rounds: median %v, want 0", got)
	}
}

// The targets table must say "no" where a target is missed and "yes" where
// it is met, from the medians of the same run.
func TestTargetsTable(t *testing.T) {
	r := &report{results: map[string]map[string][]result{
		"1":  {"Guan": {{rps: 100, p99: 2}}, "nginx": {{rps: 200, p99: 1}}, "Caddy": {{rps: 50, p99: 4}}},
		"6":  {"Guan": {{rps: 99}}},
		"6c": {"Guan": {{rps: 110}}},
		"8":  {"Guan": {{p50: 0.5}}, "direct": {{p50: 0.4}}},
		"2":  {"Guan": {{peakKB: 30 << 10}}, "nginx": {{peakKB: 10 << 10}}, "HAProxy": {{peakKB: 20 << 10}}},
	}}
	out := r.targetsTable()
	for _, want := range []string{
		"| (1) Guan ≥ 1.3× Caddy req/s | 2.00× | yes |",
		"| (1) Guan ≥ 0.8× nginx req/s | 0.50× | **no** |",
		"| (1) Guan p99 ≤ 1.5× nginx p99 | 2.00× | **no** |",
		"| (6) 10k routers within 5% of Guan's (1) | 0.990× of (1) | yes |",
		"| (6) 10k routers within 5% of Guan's one router under (6)'s load generator (6c) | 0.900× of (6c) | **no** |",
		"| (8) added p50 over direct at half load ≤ 0.2 ms | +0.100 ms | yes |",
		"| (2) Guan peak memory ≤ 2× max(nginx, HAProxy) | 30.0 MB vs 20.0 MB: 1.50× | yes |",
		"| (3) HTTP/2: Guan ≥ 1.3× Caddy req/s | not measured | – |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("targets table lacks %q:\n%s", want, out)
		}
	}
}
