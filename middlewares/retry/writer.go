package retry

import (
	"bufio"
	"errors"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/guan-gateway/guan/middlewares/statusrange"
)

// maxDrain is how much of a discarded response body is read and dropped so
// the upstream connection can be reused; past it the copy is cut short and
// the connection closed.
const maxDrain = 64 << 10

// errDiscarded ends the copy of a response that is being retried.
var errDiscarded = errors.New("retry: response discarded for another attempt")

// attemptWriter keeps an attempt's response headers aside until the
// attempt writes something, so that headers set by handlers between retry
// and the proxy during a failed attempt do not pile up on the real response.
//
// With a rule, a final response whose status the rule lists is not written
// at all: it is discarded (headers and body) so another attempt can answer.
type attemptWriter struct {
	w         http.ResponseWriter
	h         http.Header
	rule      *statusRule // nil: every response is passed on
	code      int32       // the discarded response's status
	drained   int32       // its body bytes dropped so far
	committed bool
	discarded bool
}

// statusRule tells which responses an attempt discards.
type statusRule struct {
	status statusrange.Set
	until  time.Time // zero, or when responses stop being discarded
}

func (a *attemptWriter) init(w http.ResponseWriter, rule *statusRule) {
	*a = attemptWriter{w: w, h: w.Header().Clone(), rule: rule}
}

func (a *attemptWriter) Header() http.Header {
	if a.committed {
		return a.w.Header()
	}
	return a.h
}

// commit makes the attempt's headers the response's headers.
func (a *attemptWriter) commit() {
	if a.committed {
		return
	}
	a.committed = true
	dst := a.w.Header()
	clear(dst)
	maps.Copy(dst, a.h)
}

func (a *attemptWriter) WriteHeader(code int) {
	if a.discarded {
		return
	}
	if !a.committed {
		if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			a.interim(code)
			return
		}
		if a.rule != nil && a.rule.matches(code) {
			a.discarded = true
			a.code = int32(code)
			return
		}
	}
	a.commit()
	a.w.WriteHeader(code)
}

// interim passes a 1xx response on with the attempt's headers without
// committing the attempt: its final response may still be retried.
func (a *attemptWriter) interim(code int) {
	dst := a.w.Header()
	saved := dst.Clone()
	clear(dst)
	maps.Copy(dst, a.h)
	a.w.WriteHeader(code)
	clear(dst)
	maps.Copy(dst, saved)
}

func (r *statusRule) matches(code int) bool {
	if !r.until.IsZero() && !time.Now().Before(r.until) {
		return false
	}
	return r.status.Has(code)
}

func (a *attemptWriter) Write(b []byte) (int, error) {
	if !a.committed && !a.discarded {
		a.WriteHeader(http.StatusOK)
	}
	if a.discarded {
		if int(a.drained)+len(b) > maxDrain {
			return 0, errDiscarded
		}
		a.drained += int32(len(b))
		return len(b), nil
	}
	return a.w.Write(b)
}

func (a *attemptWriter) Flush() {
	if a.discarded {
		return
	}
	a.commit()
	http.NewResponseController(a.w).Flush()
}

// Hijack is used for protocol upgrades, which means the upstream answered.
func (a *attemptWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if a.discarded {
		return nil, nil, errDiscarded
	}
	a.commit()
	return http.NewResponseController(a.w).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's other
// features (deadlines, full duplex).
func (a *attemptWriter) Unwrap() http.ResponseWriter { return a.w }
