package entrypoints

import (
	"net/url"
	"strings"

	"github.com/guan-gateway/guan/config/static"
)

// encodedChars is the set of percent-encoded characters an entrypoint
// rejects in the request path (http.encodedCharacters), one bit each.
type encodedChars uint8

const (
	encSlash     encodedChars = 1 << iota // %2F
	encBackSlash                          // %5C
	encNull                               // %00
	encSemicolon                          // %3B
	encPercent                            // %25
	encQuestion                           // %3F
	encHash                               // %23
)

// deniedEncodedChars turns the allow switches into the set to reject. As in
// Traefik, every character is allowed unless its switch is false.
func deniedEncodedChars(c *static.EncodedCharacters) encodedChars {
	if c == nil {
		return 0
	}
	var d encodedChars
	for _, s := range []struct {
		allow *bool
		bit   encodedChars
	}{
		{c.AllowEncodedSlash, encSlash},
		{c.AllowEncodedBackSlash, encBackSlash},
		{c.AllowEncodedNullCharacter, encNull},
		{c.AllowEncodedSemicolon, encSemicolon},
		{c.AllowEncodedPercent, encPercent},
		{c.AllowEncodedQuestionMark, encQuestion},
		{c.AllowEncodedHash, encHash},
	} {
		if s.allow != nil && !*s.allow {
			d |= s.bit
		}
	}
	return d
}

// mayEncode marks the bytes of URL.Path that URL.EscapedPath writes as one
// of the encodings above ('/' and ';' are never escaped in a path).
var mayEncode = [256]bool{'%': true, '\\': true, '#': true, '?': true, 0: true}

func hasMayEncode(p string) bool {
	for i := 0; i < len(p); i++ {
		if mayEncode[p[i]] {
			return true
		}
	}
	return false
}

// find returns the first encoded character of u's escaped path that d
// rejects, or "" when there is none, and the escaped path when it had to
// compute it ("" otherwise), for the checks that follow to reuse. Like
// Traefik, it reads the escaped path as net/url gives it
// (URL.EscapedPath), so a raw '#' or '\' that net/url escapes counts as
// %23 or %5C, and a '%' that does not start three bytes is rejected. A
// path with no mayEncode byte in Path and no '%' in RawPath, as nearly all
// are, costs one scan and no allocation.
func (d encodedChars) find(u *url.URL) (c, esc string) {
	if d == 0 || strings.IndexByte(u.RawPath, '%') < 0 && !hasMayEncode(u.Path) {
		return "", ""
	}
	esc = u.EscapedPath()
	for rest := esc; ; {
		i := strings.IndexByte(rest, '%')
		if i < 0 {
			return "", esc
		}
		if i+2 >= len(rest) {
			return rest[i:], esc // net/url rejects these: never seen from the server
		}
		if d&encodingOf(rest[i+1], rest[i+2]) != 0 {
			return rest[i : i+3], esc
		}
		rest = rest[i+3:]
	}
}

// encodingOf names the character %hl encodes, if it is one of the set.
func encodingOf(h, l byte) encodedChars {
	l |= 0x20 // lower-case a hex letter; digits are unchanged
	switch {
	case h == '2' && l == 'f':
		return encSlash
	case h == '5' && l == 'c':
		return encBackSlash
	case h == '0' && l == '0':
		return encNull
	case h == '3' && l == 'b':
		return encSemicolon
	case h == '2' && l == '5':
		return encPercent
	case h == '3' && l == 'f':
		return encQuestion
	case h == '2' && l == '3':
		return encHash
	}
	return 0
}
