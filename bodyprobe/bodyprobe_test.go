package bodyprobe

import (
	"errors"
	"io"
	"strings"
	"testing"
)

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
func (failing) Close() error               { return nil }

func TestProbe(t *testing.T) {
	rest, empty, err := Probe(io.NopCloser(strings.NewReader("")))
	if !empty || err != nil || rest == nil {
		t.Fatalf("empty body: empty=%v err=%v", empty, err)
	}

	rest, empty, err = Probe(io.NopCloser(strings.NewReader("payload")))
	if empty || err != nil {
		t.Fatalf("body with bytes: empty=%v err=%v", empty, err)
	}
	if b, _ := io.ReadAll(rest); string(b) != "payload" {
		t.Fatalf("read back %q, want the whole body", b)
	}

	broken := errors.New("stream reset")
	rest, empty, err = Probe(failing{broken})
	if empty || !errors.Is(err, broken) {
		t.Fatalf("failing body: empty=%v err=%v", empty, err)
	}
	if _, err := rest.Read(make([]byte, 1)); !errors.Is(err, broken) {
		t.Fatalf("rest of a failing body: %v", err)
	}
}
