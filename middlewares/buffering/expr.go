package buffering

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Outcome is what a retry expression can look at after one attempt.
type Outcome struct {
	Attempts     int // attempts made so far, starting at 1
	ResponseCode int
}

// Expr is a compiled retry expression such as
// `IsNetworkError() && Attempts() < 2`. Supported: IsNetworkError(),
// Attempts(), ResponseCode(), integer literals, true/false, the comparisons
// == != < <= > >=, and !, &&, || with parentheses.
type Expr struct {
	eval func(*Outcome) bool
	src  string
}

// Eval reports whether the request should be tried again.
func (e *Expr) Eval(o *Outcome) bool { return e.eval(o) }

func (e *Expr) String() string { return e.src }

const maxExprDepth = 64

// ParseExpr compiles a retry expression.
func ParseExpr(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if !p.at(tokEOF) {
		return nil, p.errorf("unexpected %s", p.peek())
	}
	b, ok := n.(boolFn)
	if !ok {
		return nil, errors.New("expression must be true or false, e.g. IsNetworkError() && Attempts() < 2")
	}
	return &Expr{eval: b, src: src}, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokInt
	tokLParen
	tokRParen
	tokNot
	tokAnd
	tokOr
	tokCmp
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '&' || c == '|':
			if i+1 >= len(s) || s[i+1] != c {
				return nil, fmt.Errorf("at %d: use %c%c", i, c, c)
			}
			k := tokAnd
			if c == '|' {
				k = tokOr
			}
			toks = append(toks, token{k, s[i : i+2], i})
			i += 2
		case c == '=' || c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && s[i+1] == '=' {
				toks = append(toks, token{tokCmp, s[i : i+2], i})
				i += 2
				continue
			}
			switch c {
			case '=':
				return nil, fmt.Errorf("at %d: use == to compare", i)
			case '!':
				toks = append(toks, token{tokNot, "!", i})
			default:
				toks = append(toks, token{tokCmp, s[i : i+1], i})
			}
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, token{tokInt, s[i:j], i})
			i = j
		case c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
			j := i
			for j < len(s) && (s[j] == '_' || (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			toks = append(toks, token{tokIdent, s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("at %d: unexpected character %q", i, c)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

// Compiled nodes: an expression is either boolean or integer valued.
type (
	boolFn func(*Outcome) bool
	intFn  func(*Outcome) int
)

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token       { return p.toks[p.i] }
func (p *parser) at(k tokKind) bool { return p.toks[p.i].kind == k }
func (p *parser) next() token       { t := p.toks[p.i]; p.i++; return t }
func (p *parser) errorf(f string, a ...any) error {
	return fmt.Errorf("at %d: "+f, append([]any{p.peek().pos}, a...)...)
}

func (p *parser) parseOr(depth int) (any, error) {
	left, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.at(tokOr) {
		p.next()
		right, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		l, r, err := bothBool(left, right, "||")
		if err != nil {
			return nil, err
		}
		left = boolFn(func(o *Outcome) bool { return l(o) || r(o) })
	}
	return left, nil
}

func (p *parser) parseAnd(depth int) (any, error) {
	left, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.at(tokAnd) {
		p.next()
		right, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		l, r, err := bothBool(left, right, "&&")
		if err != nil {
			return nil, err
		}
		left = boolFn(func(o *Outcome) bool { return l(o) && r(o) })
	}
	return left, nil
}

func bothBool(a, b any, op string) (boolFn, boolFn, error) {
	l, ok1 := a.(boolFn)
	r, ok2 := b.(boolFn)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%s needs true/false operands; compare numbers first, e.g. Attempts() < 2", op)
	}
	return l, r, nil
}

func (p *parser) parseUnary(depth int) (any, error) {
	if depth > maxExprDepth {
		return nil, p.errorf("expression nested too deeply")
	}
	if p.at(tokNot) {
		p.next()
		n, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		b, ok := n.(boolFn)
		if !ok {
			return nil, errors.New("! needs a true/false operand")
		}
		return boolFn(func(o *Outcome) bool { return !b(o) }), nil
	}
	left, err := p.parseOperand(depth)
	if err != nil {
		return nil, err
	}
	if !p.at(tokCmp) {
		return left, nil
	}
	op := p.next()
	right, err := p.parseOperand(depth)
	if err != nil {
		return nil, err
	}
	return compare(left, right, op.text)
}

func (p *parser) parseOperand(depth int) (any, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.at(tokRParen) {
			return nil, p.errorf("missing )")
		}
		p.next()
		return n, nil
	case tokInt:
		v, err := strconv.Atoi(t.text)
		if err != nil {
			return nil, fmt.Errorf("at %d: number %s out of range", t.pos, t.text)
		}
		return intFn(func(*Outcome) int { return v }), nil
	case tokIdent:
		switch t.text {
		case "true":
			return boolFn(func(*Outcome) bool { return true }), nil
		case "false":
			return boolFn(func(*Outcome) bool { return false }), nil
		}
		if !p.at(tokLParen) || p.toks[p.i+1].kind != tokRParen {
			return nil, fmt.Errorf("at %d: %s must be called with no arguments: %s()", t.pos, t.text, t.text)
		}
		p.i += 2
		switch t.text {
		case "IsNetworkError":
			// The proxy answers 502 when it cannot connect and 504 when the
			// upstream times out.
			return boolFn(func(o *Outcome) bool {
				return o.ResponseCode == http.StatusBadGateway || o.ResponseCode == http.StatusGatewayTimeout
			}), nil
		case "Attempts":
			return intFn(func(o *Outcome) int { return o.Attempts }), nil
		case "ResponseCode":
			return intFn(func(o *Outcome) int { return o.ResponseCode }), nil
		}
		return nil, fmt.Errorf("at %d: unknown function %s; use IsNetworkError(), Attempts() or ResponseCode()", t.pos, t.text)
	}
	return nil, fmt.Errorf("at %d: unexpected %s", t.pos, t)
}

func compare(a, b any, op string) (any, error) {
	if l, ok := a.(intFn); ok {
		r, ok := b.(intFn)
		if !ok {
			return nil, fmt.Errorf("%s compares a number with true/false", op)
		}
		var f boolFn
		switch op {
		case "==":
			f = func(o *Outcome) bool { return l(o) == r(o) }
		case "!=":
			f = func(o *Outcome) bool { return l(o) != r(o) }
		case "<":
			f = func(o *Outcome) bool { return l(o) < r(o) }
		case "<=":
			f = func(o *Outcome) bool { return l(o) <= r(o) }
		case ">":
			f = func(o *Outcome) bool { return l(o) > r(o) }
		case ">=":
			f = func(o *Outcome) bool { return l(o) >= r(o) }
		}
		return f, nil
	}
	l := a.(boolFn)
	r, ok := b.(boolFn)
	if !ok {
		return nil, fmt.Errorf("%s compares true/false with a number", op)
	}
	switch op {
	case "==":
		return boolFn(func(o *Outcome) bool { return l(o) == r(o) }), nil
	case "!=":
		return boolFn(func(o *Outcome) bool { return l(o) != r(o) }), nil
	}
	return nil, fmt.Errorf("%s only compares numbers", op)
}
