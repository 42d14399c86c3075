package health

import (
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
)

func wait(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no state change within 5s")
	}
}

func TestActiveDownAndUp(t *testing.T) {
	s := NewServers([]string{"http://a", "http://b"}, nil)
	var events []string
	s.SetHook(func(url string, up bool) {
		if up {
			events = append(events, url+" up")
		} else {
			events = append(events, url+" down")
		}
	})
	ch := s.Changed()
	if !s.SetActive(0, false) {
		t.Fatal("SetActive(false) on an up server must report a change")
	}
	wait(t, ch)
	if s.SetActive(0, false) {
		t.Fatal("repeated result must not report a change")
	}
	if s.Up(0) || !s.Up(1) || !s.Healthy() {
		t.Fatal("wrong state after one server went down")
	}
	s.SetActive(1, false)
	if s.Healthy() {
		t.Fatal("Healthy with every server down")
	}
	if got := s.Status(); got["http://a"] != "DOWN" || got["http://b"] != "DOWN" {
		t.Fatalf("Status = %v", got)
	}
	s.SetActive(0, true)
	want := []string{"http://a up", "http://b up", "http://a down", "http://b down", "http://a up"}
	if len(events) != len(want) {
		t.Fatalf("events = %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events = %v, want %v", events, want)
		}
	}
}

func TestPassiveEjectionAndReturn(t *testing.T) {
	window := config.Duration(100 * time.Millisecond)
	s := NewServers([]string{"http://a"}, &dynamic.PassiveServerHealthCheck{FailureWindow: &window, MaxFailedAttempts: 2})
	defer s.Close()
	s.Failure(0)
	if !s.Up(0) {
		t.Fatal("one failure of two allowed must not eject")
	}
	ch := s.Changed()
	s.Failure(0)
	wait(t, ch)
	if s.Up(0) {
		t.Fatal("server not ejected after maxFailedAttempts")
	}
	ch = s.Changed()
	wait(t, ch)
	if !s.Up(0) {
		t.Fatal("server not back after the failure window")
	}
}

func TestPassiveFailuresOutsideWindowDontAdd(t *testing.T) {
	window := config.Duration(30 * time.Millisecond)
	s := NewServers([]string{"http://a"}, &dynamic.PassiveServerHealthCheck{FailureWindow: &window, MaxFailedAttempts: 2})
	defer s.Close()
	s.Failure(0)
	time.Sleep(50 * time.Millisecond)
	s.Failure(0)
	if !s.Up(0) {
		t.Fatal("failures in different windows must not add up")
	}
}

// A Server outlives the view of one configuration: a new view that adds a
// server keeps the verdicts and ejections of the others.
func TestServerStateSharedAcrossViews(t *testing.T) {
	window := config.Duration(time.Minute)
	pc := &dynamic.PassiveServerHealthCheck{FailureWindow: &window}
	g := NewGroup()
	a, b := g.NewServer("http://a", pc), g.NewServer("http://b", pc)
	defer a.Close()
	defer b.Close()
	v1 := g.View([]*Server{a, b})
	ch := v1.Changed()
	v1.SetActive(0, false)
	v1.Failure(1)
	wait(t, ch)

	c := g.NewServer("http://c", pc)
	defer c.Close()
	v2 := g.View([]*Server{a, b, c})
	if v2.Up(0) || v2.Up(1) || !v2.Up(2) {
		t.Fatalf("new view: %v, want a and b DOWN, c UP", v2.Status())
	}
	var events []string
	v2.SetHook(func(url string, up bool) {
		events = append(events, url+map[bool]string{true: " up", false: " down"}[up])
	})
	if len(events) != 3 || events[0] != "http://a down" || events[1] != "http://b down" || events[2] != "http://c up" {
		t.Fatalf("SetHook reported %v", events)
	}
	// Changes seen through either view wake the group's watchers.
	ch = v2.Changed()
	v1.SetActive(0, true)
	wait(t, ch)
	if !v2.Up(0) {
		t.Fatal("a is up in one view and not in the other")
	}
	v1.Close() // a view owns nothing
	if !v2.SetActive(0, false) {
		t.Fatal("closing a view must not close its servers")
	}
}

func TestClosedServerIsSilent(t *testing.T) {
	g := NewGroup()
	a := g.NewServer("http://a", nil)
	v := g.View([]*Server{a})
	calls := 0
	v.SetHook(func(string, bool) { calls++ })
	ch := v.Changed()
	a.Close()
	v.SetActive(0, false)
	select {
	case <-ch:
		t.Fatal("a closed server woke the watchers")
	default:
	}
	if calls != 1 { // the report of SetHook itself
		t.Fatalf("hook called %d times, want 1", calls)
	}
}

// MeanTTFB averages the latest TTFBSamples response times in whole
// milliseconds, and views of the same server share them.
func TestMeanTTFBWindow(t *testing.T) {
	g := NewGroup()
	s := g.NewServer("http://a", nil)
	if m := s.MeanTTFB(); m != 0 {
		t.Fatalf("mean before any sample = %v", m)
	}
	s.ObserveTTFB(10*time.Millisecond + 900*time.Microsecond) // counts as 10
	s.ObserveTTFB(20 * time.Millisecond)
	if m := s.MeanTTFB(); m != 15 {
		t.Fatalf("mean = %v, want 15", m)
	}
	for range TTFBSamples {
		s.ObserveTTFB(4 * time.Millisecond)
	}
	if m := s.MeanTTFB(); m != 4 {
		t.Fatalf("mean = %v after a full window of 4ms, want 4", m)
	}
	v := g.View([]*Server{s})
	v.ObserveTTFB(0, 104*time.Millisecond) // replaces one 4
	if m := v.MeanTTFB(0); m != 5 {
		t.Fatalf("view mean = %v, want 5", m)
	}
}
