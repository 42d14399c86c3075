// Package stripprefixregex implements the stripPrefixRegex middleware: it
// removes the part of the path matched by the first regular expression that
// matches at the start of the path.
package stripprefixregex

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/stripprefix"
)

type stripPrefixRegex struct {
	next http.Handler
	res  []*regexp.Regexp
}

// New compiles cfg.Regex (Go RE2 syntax). Expressions are tried in list order
// against the decoded path; the first whose leftmost match starts at the
// beginning of the path and is not empty is stripped and reported in
// X-Forwarded-Prefix.
func New(_ middlewares.Env, cfg dynamic.StripPrefixRegex, next http.Handler) (http.Handler, error) {
	if len(cfg.Regex) == 0 {
		return nil, errors.New(`stripPrefixRegex: "regex" is empty; list at least one expression such as "/api/[a-z0-9]+"`)
	}
	s := &stripPrefixRegex{next: next, res: make([]*regexp.Regexp, 0, len(cfg.Regex))}
	for i, expr := range cfg.Regex {
		expr = strings.TrimSpace(expr)
		if expr == "" {
			return nil, fmt.Errorf("stripPrefixRegex: regex[%d] is empty; remove it or give an expression", i)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("stripPrefixRegex: regex[%d] %q is not a valid regular expression: %w", i, expr, err)
		}
		s.res = append(s.res, re)
	}
	return s, nil
}

func (s *stripPrefixRegex) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	path := req.URL.Path
	for _, re := range s.res {
		loc := re.FindStringIndex(path)
		if loc == nil || loc[0] != 0 || loc[1] == 0 {
			continue
		}
		stripprefix.Strip(req, loc[1], path[:loc[1]], false)
		break
	}
	s.next.ServeHTTP(rw, req)
}
