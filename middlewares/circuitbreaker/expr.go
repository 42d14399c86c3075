package circuitbreaker

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Traefik's circuit-breaker expressions: NetworkErrorRatio(),
// ResponseCodeRatio(from, to, dividedByFrom, dividedByTo) and
// LatencyAtQuantileMS(quantile) compared with numbers, joined with && and
// || and grouped with parentheses. The language is this small and fixed, so
// a hand-written parser (configuration time only) is simpler than the
// unmaintained predicate library Traefik took it from.

// condition is a parsed expression.
type condition func(stats) bool

// stats are what the expression reads: the window's figures.
type stats interface {
	networkErrorRatio() float64
	responseCodeRatio(from, to, dFrom, dTo int) float64
	latencyAtQuantileMS(q float64) float64
}

func parseExpression(s string) (condition, error) {
	p := &parser{src: s}
	p.next()
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %q", p.tok.text)
	}
	return c, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokOp // > >= < <= == !=
	tokAnd
	tokOr
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type parser struct {
	src string
	pos int
	tok token
}

func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("expression %q: at %d: %s", p.src, p.tok.pos+1, fmt.Sprintf(format, a...))
}

func (p *parser) next() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{tokEOF, "end of expression", start}
		return
	}
	c := p.src[p.pos]
	two := ""
	if p.pos+1 < len(p.src) {
		two = p.src[p.pos : p.pos+2]
	}
	switch {
	case two == "&&":
		p.pos += 2
		p.tok = token{tokAnd, two, start}
	case two == "||":
		p.pos += 2
		p.tok = token{tokOr, two, start}
	case two == ">=" || two == "<=" || two == "==" || two == "!=":
		p.pos += 2
		p.tok = token{tokOp, two, start}
	case c == '>' || c == '<':
		p.pos++
		p.tok = token{tokOp, string(c), start}
	case c == '(':
		p.pos++
		p.tok = token{tokLParen, "(", start}
	case c == ')':
		p.pos++
		p.tok = token{tokRParen, ")", start}
	case c == ',':
		p.pos++
		p.tok = token{tokComma, ",", start}
	case c == '.' || c == '-' || (c >= '0' && c <= '9'):
		p.pos++
		for p.pos < len(p.src) && (p.src[p.pos] == '.' || (p.src[p.pos] >= '0' && p.src[p.pos] <= '9')) {
			p.pos++
		}
		p.tok = token{tokNumber, p.src[start:p.pos], start}
	case unicode.IsLetter(rune(c)):
		for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos]))) {
			p.pos++
		}
		p.tok = token{tokIdent, p.src[start:p.pos], start}
	default:
		p.pos++
		p.tok = token{tokOp, string(c), start} // reported by the caller as unexpected
	}
}

func (p *parser) or() (condition, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokOr {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(s stats) bool { return l(s) || right(s) }
	}
	return left, nil
}

func (p *parser) and() (condition, error) {
	left, err := p.comparison()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokAnd {
		p.next()
		right, err := p.comparison()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(s stats) bool { return l(s) && right(s) }
	}
	return left, nil
}

func (p *parser) comparison() (condition, error) {
	if p.tok.kind == tokLParen {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errorf("missing )")
		}
		p.next()
		return c, nil
	}
	metric, err := p.metric()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOp {
		return nil, p.errorf("expected a comparison (>, >=, <, <=, ==, !=) after the function, got %q", p.tok.text)
	}
	op := p.tok.text
	p.next()
	if p.tok.kind != tokNumber {
		return nil, p.errorf("expected a number after %s, got %q", op, p.tok.text)
	}
	v, err := strconv.ParseFloat(p.tok.text, 64)
	if err != nil {
		return nil, p.errorf("bad number %q", p.tok.text)
	}
	p.next()
	var cmp func(a, b float64) bool
	switch op {
	case ">":
		cmp = func(a, b float64) bool { return a > b }
	case ">=":
		cmp = func(a, b float64) bool { return a >= b }
	case "<":
		cmp = func(a, b float64) bool { return a < b }
	case "<=":
		cmp = func(a, b float64) bool { return a <= b }
	case "==":
		cmp = func(a, b float64) bool { return a == b }
	case "!=":
		cmp = func(a, b float64) bool { return a != b }
	default:
		return nil, p.errorf("unknown operator %q", op)
	}
	return func(s stats) bool { return cmp(metric(s), v) }, nil
}

// metric parses one of the three functions and returns its reader.
func (p *parser) metric() (func(stats) float64, error) {
	if p.tok.kind != tokIdent {
		return nil, p.errorf("expected NetworkErrorRatio(), ResponseCodeRatio(a, b, c, d) or LatencyAtQuantileMS(q), got %q", p.tok.text)
	}
	name := p.tok.text
	p.next()
	if p.tok.kind != tokLParen {
		return nil, p.errorf("expected ( after %s", name)
	}
	p.next()
	var args []float64
	for p.tok.kind != tokRParen {
		if len(args) > 0 {
			if p.tok.kind != tokComma {
				return nil, p.errorf("expected , or ) in the arguments of %s", name)
			}
			p.next()
		}
		if p.tok.kind != tokNumber {
			return nil, p.errorf("expected a number in the arguments of %s, got %q", name, p.tok.text)
		}
		v, err := strconv.ParseFloat(p.tok.text, 64)
		if err != nil {
			return nil, p.errorf("bad number %q", p.tok.text)
		}
		args = append(args, v)
		p.next()
	}
	p.next()
	switch strings.ToLower(name) {
	case "networkerrorratio":
		if len(args) != 0 {
			return nil, p.errorf("NetworkErrorRatio() takes no argument")
		}
		return func(s stats) float64 { return s.networkErrorRatio() }, nil
	case "responsecoderatio":
		if len(args) != 4 {
			return nil, p.errorf("ResponseCodeRatio takes 4 status codes (from, to, dividedByFrom, dividedByTo), got %d", len(args))
		}
		a, b, c, d := int(args[0]), int(args[1]), int(args[2]), int(args[3])
		for _, code := range []int{a, b, c, d} {
			if code < 0 || code > 600 {
				return nil, p.errorf("ResponseCodeRatio: %d is not a status code (0 to 600)", code)
			}
		}
		if a >= b || c >= d {
			return nil, p.errorf("ResponseCodeRatio(%d, %d, %d, %d): each range is [from, to) with from < to", a, b, c, d)
		}
		return func(s stats) float64 { return s.responseCodeRatio(a, b, c, d) }, nil
	case "latencyatquantilems":
		if len(args) != 1 || args[0] <= 0 || args[0] > 100 {
			return nil, p.errorf("LatencyAtQuantileMS takes one quantile in (0, 100], such as 50.0")
		}
		q := args[0]
		return func(s stats) float64 { return s.latencyAtQuantileMS(q) }, nil
	}
	return nil, p.errorf("unknown function %s: use NetworkErrorRatio(), ResponseCodeRatio(a, b, c, d) or LatencyAtQuantileMS(q)", name)
}
