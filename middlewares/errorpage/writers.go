package errorpage

import (
	"bufio"
	"errors"
	"net"
	"net/http"
)

// catcher watches the status the next handler writes. A matching status is
// held back together with its body; anything else passes straight through,
// so large normal responses are never buffered.
type catcher struct {
	w      http.ResponseWriter
	ep     *errorPage
	code   int
	caught bool
	passed bool
}

func (c *catcher) Header() http.Header { return c.w.Header() }

func (c *catcher) WriteHeader(code int) {
	switch {
	case c.passed:
		c.w.WriteHeader(code) // let net/http report the superfluous call
	case c.caught:
	case code < 200 && code != http.StatusSwitchingProtocols:
		c.w.WriteHeader(code) // informational: the real status comes later
	case c.ep.matches(code):
		c.caught, c.code = true, code
	default:
		c.passed = true
		c.w.WriteHeader(code)
	}
}

func (c *catcher) Write(b []byte) (int, error) {
	if !c.caught && !c.passed {
		c.WriteHeader(http.StatusOK)
	}
	if c.caught {
		return len(b), nil // the error body is replaced by the page
	}
	return c.w.Write(b)
}

func (c *catcher) Flush() {
	if !c.caught && !c.passed {
		c.WriteHeader(http.StatusOK)
	}
	if c.passed {
		http.NewResponseController(c.w).Flush()
	}
}

func (c *catcher) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if c.caught {
		return nil, nil, errors.New("errors middleware: response already replaced by an error page")
	}
	return http.NewResponseController(c.w).Hijack()
}

func (c *catcher) Unwrap() http.ResponseWriter { return c.w }

// statusOverride writes the error service's response under the status the
// client must see.
type statusOverride struct {
	w     http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusOverride) Header() http.Header { return s.w.Header() }

func (s *statusOverride) WriteHeader(code int) {
	if s.wrote || (code < 200 && code != http.StatusSwitchingProtocols) {
		return
	}
	s.wrote = true
	s.w.WriteHeader(s.code)
}

func (s *statusOverride) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.w.Write(b)
}

func (s *statusOverride) Flush() {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(s.w).Flush()
}

func (s *statusOverride) Unwrap() http.ResponseWriter { return s.w }
