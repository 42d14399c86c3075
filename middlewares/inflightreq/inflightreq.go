// Package inflightreq implements the inFlightReq middleware: at most amount
// requests per source are served at once; the rest get 429.
package inflightreq

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/ipstrategy"
)

// storeKind is the statestore kind under which counter tables are kept, so
// an unchanged middleware keeps counting requests that started before a
// reload.
const storeKind = "inflightreq"

type inFlight struct {
	next   http.Handler
	amount int64
	source func(*http.Request) string
	counts *Table
	logger *slog.Logger
}

// New builds the middleware. amount must be positive.
func New(env middlewares.Env, cfg dynamic.InFlightReq, next http.Handler) (http.Handler, error) {
	if cfg.Amount <= 0 {
		return nil, fmt.Errorf("inFlightReq: amount is %d; set it to the maximum number of simultaneous requests per source (> 0)", cfg.Amount)
	}
	source, err := ipstrategy.Source(cfg.SourceCriterion)
	if err != nil {
		return nil, fmt.Errorf("inFlightReq: %w", err)
	}
	counts, err := middlewares.Lasting(env, storeKind, cfg, func() (*Table, error) { return NewTable(), nil })
	if err != nil {
		return nil, fmt.Errorf("inFlightReq: counter table: %w", err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &inFlight{next: next, amount: cfg.Amount, source: source, counts: counts, logger: logger}, nil
}

func (m *inFlight) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	key := m.source(req)
	if !m.counts.Acquire(key, m.amount) {
		m.logger.Debug("in-flight request limit reached", "source", key, "amount", m.amount)
		http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		return
	}
	defer m.counts.Release(key)
	m.next.ServeHTTP(w, req)
}
