package routers

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/guan-gateway/guan/config/suggest"
)

// ParseError is a rule that does not parse or names a matcher wrongly. Col is
// the 1-based column (in characters) of the offending token in the rule.
type ParseError struct {
	Col int
	Msg string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
}

// exprKind is the kind of a node in the parsed rule.
type exprKind uint8

const (
	exprCall exprKind = iota // Matcher(`arg`, ...)
	exprAnd
	exprOr
	exprNot
)

// expr is the syntax tree shared by the HTTP and TCP rule languages; each
// language compiles it with its own matcher set.
type expr struct {
	kind    exprKind
	x, y    *expr  // operands: x for !, x and y for && and ||
	name    string // matcher name for exprCall
	args    []string
	pos     int   // byte offset of the matcher name or operator
	argsPos []int // byte offset of each argument
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokLParen
	tokRParen
	tokComma
	tokAnd
	tokOr
	tokNot
)

func (k tokKind) String() string {
	switch k {
	case tokEOF:
		return "end of rule"
	case tokIdent:
		return "matcher name"
	case tokString:
		return "string"
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	case tokComma:
		return `","`
	case tokAnd:
		return `"&&"`
	case tokOr:
		return `"||"`
	case tokNot:
		return `"!"`
	}
	return "token"
}

type token struct {
	kind tokKind
	pos  int    // byte offset in the rule
	text string // identifier, or the unquoted string value
}

// parser is a recursive-descent parser over a hand-written lexer. Grammar:
//
//	rule    = or EOF
//	or      = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | primary
//	primary = "(" or ")" | ident "(" [ string { "," string } ] ")"
//
// Strings are Go string literals: `raw` or "interpreted with escapes".
type parser struct {
	src string
	off int
	tok token
	err *ParseError
}

// maxDepth bounds nesting so a hostile rule cannot exhaust the stack.
const maxDepth = 256

func parseExpr(src string) (*parser, *expr, error) {
	p := &parser{src: src}
	p.next()
	if p.err != nil {
		return nil, nil, p.err
	}
	if p.tok.kind == tokEOF {
		return nil, nil, p.errorf(0, "empty rule: write at least one matcher, e.g. Host(`example.com`)")
	}
	e := p.parseOr(0)
	if p.err != nil {
		return nil, nil, p.err
	}
	if p.tok.kind != tokEOF {
		return nil, nil, p.errorf(p.tok.pos, "unexpected %s after a complete expression (missing && or ||?)", p.describe(p.tok))
	}
	return p, e, nil
}

// col turns a byte offset into a 1-based character column.
func (p *parser) col(off int) int {
	if off > len(p.src) {
		off = len(p.src)
	}
	return utf8.RuneCountInString(p.src[:off]) + 1
}

func (p *parser) errorf(off int, format string, args ...any) *ParseError {
	if p.err == nil {
		p.err = &ParseError{Col: p.col(off), Msg: fmt.Sprintf(format, args...)}
	}
	return p.err
}

func (p *parser) describe(t token) string {
	switch t.kind {
	case tokIdent:
		return strconv.Quote(t.text)
	case tokString:
		return "string " + strconv.Quote(t.text)
	}
	return t.kind.String()
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// next reads the following token into p.tok.
func (p *parser) next() {
	if p.err != nil {
		p.tok = token{kind: tokEOF, pos: len(p.src)}
		return
	}
	for p.off < len(p.src) && isSpace(p.src[p.off]) {
		p.off++
	}
	start := p.off
	if start >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return
	}
	c := p.src[start]
	switch {
	case c == '(':
		p.off++
		p.tok = token{kind: tokLParen, pos: start}
	case c == ')':
		p.off++
		p.tok = token{kind: tokRParen, pos: start}
	case c == ',':
		p.off++
		p.tok = token{kind: tokComma, pos: start}
	case c == '!':
		p.off++
		p.tok = token{kind: tokNot, pos: start}
	case c == '&' || c == '|':
		if start+1 < len(p.src) && p.src[start+1] == c {
			p.off += 2
			if c == '&' {
				p.tok = token{kind: tokAnd, pos: start}
			} else {
				p.tok = token{kind: tokOr, pos: start}
			}
			return
		}
		p.errorf(start, "unexpected %q: use %q", string(c), string(c)+string(c))
		p.tok = token{kind: tokEOF, pos: start}
	case c == '`':
		end := strings.IndexByte(p.src[start+1:], '`')
		if end < 0 {
			p.errorf(start, "unterminated string: missing closing backtick")
			p.tok = token{kind: tokEOF, pos: start}
			return
		}
		p.off = start + 1 + end + 1
		p.tok = token{kind: tokString, pos: start, text: p.src[start+1 : start+1+end]}
	case c == '"':
		p.lexQuoted(start)
	case c == '\'':
		p.errorf(start, "single quotes are not allowed: quote values with backticks (`value`) or double quotes (\"value\")")
		p.tok = token{kind: tokEOF, pos: start}
	case isIdentStart(c):
		end := start + 1
		for end < len(p.src) && isIdentChar(p.src[end]) {
			end++
		}
		p.off = end
		p.tok = token{kind: tokIdent, pos: start, text: p.src[start:end]}
	default:
		r, _ := utf8.DecodeRuneInString(p.src[start:])
		p.errorf(start, "unexpected character %q", r)
		p.tok = token{kind: tokEOF, pos: start}
	}
}

// lexQuoted reads a double-quoted Go string literal starting at start.
func (p *parser) lexQuoted(start int) {
	i := start + 1
	for i < len(p.src) {
		switch p.src[i] {
		case '\\':
			i += 2
			continue
		case '\n':
			p.errorf(start, "unterminated string: newline inside double quotes")
			p.tok = token{kind: tokEOF, pos: start}
			return
		case '"':
			lit := p.src[start : i+1]
			s, err := strconv.Unquote(lit)
			if err != nil {
				p.errorf(start, "invalid escape in double-quoted string %s: use Go escapes such as \\\" and \\\\, or a backtick string", lit)
				p.tok = token{kind: tokEOF, pos: start}
				return
			}
			p.off = i + 1
			p.tok = token{kind: tokString, pos: start, text: s}
			return
		}
		i++
	}
	p.errorf(start, "unterminated string: missing closing double quote")
	p.tok = token{kind: tokEOF, pos: start}
}

func (p *parser) parseOr(depth int) *expr {
	x := p.parseAnd(depth)
	for p.err == nil && p.tok.kind == tokOr {
		pos := p.tok.pos
		p.next()
		y := p.parseAnd(depth)
		x = &expr{kind: exprOr, x: x, y: y, pos: pos}
	}
	return x
}

func (p *parser) parseAnd(depth int) *expr {
	x := p.parseUnary(depth)
	for p.err == nil && p.tok.kind == tokAnd {
		pos := p.tok.pos
		p.next()
		y := p.parseUnary(depth)
		x = &expr{kind: exprAnd, x: x, y: y, pos: pos}
	}
	return x
}

func (p *parser) parseUnary(depth int) *expr {
	if depth > maxDepth {
		p.errorf(p.tok.pos, "rule nests deeper than %d levels", maxDepth)
		return nil
	}
	if p.tok.kind == tokNot {
		pos := p.tok.pos
		p.next()
		x := p.parseUnary(depth + 1)
		return &expr{kind: exprNot, x: x, pos: pos}
	}
	return p.parsePrimary(depth)
}

func (p *parser) parsePrimary(depth int) *expr {
	if p.err != nil {
		return nil
	}
	switch p.tok.kind {
	case tokLParen:
		open := p.tok.pos
		p.next()
		e := p.parseOr(depth + 1)
		if p.err != nil {
			return nil
		}
		if p.tok.kind != tokRParen {
			p.errorf(p.tok.pos, "expected \")\" to close \"(\" at column %d, got %s", p.col(open), p.describe(p.tok))
			return nil
		}
		p.next()
		return e
	case tokIdent:
		return p.parseCall()
	case tokString:
		p.errorf(p.tok.pos, "unexpected string %s: values go inside a matcher, e.g. Host(%s)", strconv.Quote(p.tok.text), "`"+p.tok.text+"`")
		return nil
	default:
		p.errorf(p.tok.pos, "expected a matcher, \"!\" or \"(\", got %s", p.describe(p.tok))
		return nil
	}
}

func (p *parser) parseCall() *expr {
	e := &expr{kind: exprCall, name: p.tok.text, pos: p.tok.pos}
	p.next()
	if p.tok.kind != tokLParen {
		p.errorf(p.tok.pos, "expected \"(\" after matcher %q, got %s", e.name, p.describe(p.tok))
		return nil
	}
	p.next()
	if p.tok.kind == tokRParen {
		p.next()
		return e
	}
	for p.err == nil {
		if p.tok.kind != tokString {
			p.errorf(p.tok.pos, "expected a quoted value in %s(...), got %s (quote values with backticks)", e.name, p.describe(p.tok))
			return nil
		}
		e.args = append(e.args, p.tok.text)
		e.argsPos = append(e.argsPos, p.tok.pos)
		p.next()
		switch p.tok.kind {
		case tokComma:
			p.next()
		case tokRParen:
			p.next()
			return e
		default:
			p.errorf(p.tok.pos, "expected \",\" or \")\" in %s(...), got %s", e.name, p.describe(p.tok))
			return nil
		}
	}
	return nil
}

// matcherSpec describes one matcher of a rule language: how many arguments
// it takes and how to compile a call into a leaf of type L.
type matcherSpec[L any] struct {
	minArgs, maxArgs int // maxArgs < 0: unbounded
	build            func(c *call) (L, error)
}

// call is a matcher invocation handed to a builder; errors it returns via
// argErr point at the offending argument.
type call struct {
	p    *parser
	name string
	args []string
	pos  int
	apos []int
}

func (c *call) argErr(i int, format string, args ...any) error {
	return &ParseError{Col: c.p.col(c.apos[i]), Msg: c.name + ": " + fmt.Sprintf(format, args...)}
}

// language is a matcher set: one per protocol and syntax version.
type language[L any] struct {
	matchers map[string]matcherSpec[L]
	// other lists matchers of the sibling syntax to point users at ruleSyntax.
	other     map[string]string
	hintOnArg map[string]string // extra advice on argument-count errors
}

// parseRule compiles rule in the language its syntax names: "v3" (the
// default when empty) or "v2". It returns the syntax in effect.
func parseRule[L any](rule, syntax string, v3, v2 *language[L]) (*tree[L], string, error) {
	var lang *language[L]
	switch syntax {
	case "", "v3":
		lang, syntax = v3, "v3"
	case "v2":
		lang = v2
	default:
		return nil, "", fmt.Errorf("unknown ruleSyntax %q: use \"v3\" (default) or \"v2\"", syntax)
	}
	p, e, err := parseExpr(rule)
	if err != nil {
		return nil, "", err
	}
	t, err := compile(p, lang, e)
	if err != nil {
		return nil, "", err
	}
	return t, syntax, nil
}

// compile turns a syntax tree into a boolean tree of leaves.
func compile[L any](p *parser, lang *language[L], e *expr) (*tree[L], error) {
	switch e.kind {
	case exprAnd, exprOr:
		x, err := compile(p, lang, e.x)
		if err != nil {
			return nil, err
		}
		y, err := compile(p, lang, e.y)
		if err != nil {
			return nil, err
		}
		op := opAnd
		if e.kind == exprOr {
			op = opOr
		}
		return &tree[L]{op: op, x: x, y: y}, nil
	case exprNot:
		x, err := compile(p, lang, e.x)
		if err != nil {
			return nil, err
		}
		return &tree[L]{op: opNot, x: x}, nil
	}
	spec, ok := lang.matchers[e.name]
	if !ok {
		return nil, p.errorf(e.pos, "%s", unknownMatcher(lang, e.name))
	}
	n := len(e.args)
	if n < spec.minArgs || spec.maxArgs >= 0 && n > spec.maxArgs {
		msg := fmt.Sprintf("%s takes %s, got %d", e.name, argCount(spec.minArgs, spec.maxArgs), n)
		if h := lang.hintOnArg[e.name]; h != "" {
			msg += " (" + h + ")"
		}
		return nil, p.errorf(e.pos, "%s", msg)
	}
	c := &call{p: p, name: e.name, args: e.args, pos: e.pos, apos: e.argsPos}
	for i, a := range e.args {
		if a == "" {
			return nil, c.argErr(i, "empty value")
		}
	}
	leaf, err := spec.build(c)
	if err != nil {
		return nil, err
	}
	return &tree[L]{op: opLeaf, leaf: leaf}, nil
}

func argCount(lo, hi int) string {
	switch {
	case lo == hi && lo == 1:
		return "exactly 1 argument"
	case lo == hi:
		return fmt.Sprintf("exactly %d arguments", lo)
	case hi < 0:
		return fmt.Sprintf("at least %d argument(s)", lo)
	}
	return fmt.Sprintf("%d or %d arguments", lo, hi)
}

func unknownMatcher[L any](lang *language[L], name string) string {
	msg := fmt.Sprintf("unknown matcher %q", name)
	if hint, ok := lang.other[name]; ok {
		return msg + " (" + hint + ")"
	}
	// Sorted, so that equally near names always give the same hint.
	if best, ok := suggest.Within(name, slices.Sorted(maps.Keys(lang.matchers)), 2); ok {
		return msg + fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}
