// Package ipallowlist implements the TCP ipAllowList middleware: only
// connections whose peer IP is in sourceRange reach the next handler; the
// others are closed at once, without a byte written.
package ipallowlist

import (
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/ipstrategy"
)

type allowList struct {
	next    middlewares.TCPHandler
	allowed *ipstrategy.Matcher
	logger  *slog.Logger
}

// New builds the middleware. sourceRange must hold at least one IP or CIDR.
func New(env middlewares.Env, cfg dynamic.TCPIPAllowList, next middlewares.TCPHandler) (middlewares.TCPHandler, error) {
	if len(cfg.SourceRange) == 0 {
		return nil, errors.New("ipAllowList: sourceRange is empty; list the IPs or CIDRs allowed in, e.g. [\"10.0.0.0/8\"]")
	}
	allowed, err := ipstrategy.NewMatcher(cfg.SourceRange)
	if err != nil {
		return nil, fmt.Errorf("ipAllowList: sourceRange %w", err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &allowList{next: next, allowed: allowed, logger: logger}, nil
}

// ServeTCP passes conn on when its peer is allowed and closes it otherwise.
// A peer whose address is not an IP (a Unix socket) is refused.
func (a *allowList) ServeTCP(conn net.Conn) {
	ip, ok := ipstrategy.PeerAddr(conn.RemoteAddr())
	if !ok || !a.allowed.Contains(ip) {
		a.logger.Debug("connection refused: client IP not allowed", "remote", conn.RemoteAddr())
		conn.Close()
		return
	}
	a.next.ServeTCP(conn)
}
