// Package inflightconn implements the TCP inFlightConn middleware: at most
// amount connections of one client IP are open at once through it; a
// connection beyond that is closed at once.
package inflightconn

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/inflightreq"
	"github.com/guan-gateway/guan/middlewares/ipstrategy"
)

// storeKind is the statestore kind under which counter tables are kept: one
// table per middleware name and configuration, shared by every router that
// uses the middleware, and kept across reloads so that connections opened
// before a reload still count after it.
const storeKind = "inflightconn"

type inFlight struct {
	next   middlewares.TCPHandler
	amount int64
	counts *inflightreq.Table
	logger *slog.Logger
}

// New builds the middleware. amount must be positive.
func New(env middlewares.Env, cfg dynamic.TCPInFlightConn, next middlewares.TCPHandler) (middlewares.TCPHandler, error) {
	if cfg.Amount <= 0 {
		return nil, fmt.Errorf("inFlightConn: amount is %d; set it to the maximum number of simultaneous connections per client IP (> 0)", cfg.Amount)
	}
	counts, err := table(env, cfg)
	if err != nil {
		return nil, err
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &inFlight{next: next, amount: cfg.Amount, counts: counts, logger: logger}, nil
}

// table returns the counters of the middleware: from the store when there
// is one, so every router and every later build with the same name and
// configuration share them.
func table(env middlewares.Env, cfg dynamic.TCPInFlightConn) (*inflightreq.Table, error) {
	if env.Store == nil {
		return inflightreq.NewTable(), nil
	}
	v, err := env.Store.Get(storeKind, env.Name, cfg, func() (any, error) { return inflightreq.NewTable(), nil })
	if err != nil {
		return nil, fmt.Errorf("inFlightConn: counter table: %w", err)
	}
	t, ok := v.(*inflightreq.Table)
	if !ok {
		return nil, fmt.Errorf("inFlightConn: state store holds %T for %q, want *inflightreq.Table", v, env.Name)
	}
	return t, nil
}

// ServeTCP counts conn against its client IP for as long as the next
// handler serves it, or closes it when amount connections of that IP are
// open already. A peer whose address is not an IP counts under its whole
// address text.
func (m *inFlight) ServeTCP(conn net.Conn) {
	var key string
	if ip, ok := ipstrategy.PeerAddr(conn.RemoteAddr()); ok {
		key = ip.String()
	} else if ra := conn.RemoteAddr(); ra != nil {
		key = ra.String()
	}
	if !m.counts.Acquire(key, m.amount) {
		m.logger.Debug("connection refused: in-flight connection limit reached", "clientIP", key, "amount", m.amount)
		conn.Close()
		return
	}
	defer m.counts.Release(key)
	m.next.ServeTCP(conn)
}
