package accesslog

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a quoted JSON string. Invalid UTF-8 bytes
// become U+FFFD and U+2028/U+2029 are escaped, as encoding/json does, so a
// line is always valid JSON whatever the client sent.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, s)
	return append(dst, '"')
}

// appendJSONEscaped writes the inside of a JSON string, without quotes.
func appendJSONEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendCLFQuoted appends s for a double-quoted Common Log Format field.
// Quotes, backslashes and bytes outside printable ASCII are written as \"
// \\ and \xHH (as Apache does), so a client cannot forge or split lines.
// An empty value is written as "-".
func appendCLFQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	if s == "" {
		return append(dst, '-', '"')
	}
	dst = appendCLFEscaped(dst, s)
	return append(dst, '"')
}

// appendCLFEscaped writes s with the escaping of appendCLFQuoted but no
// quotes.
func appendCLFEscaped(dst []byte, s string) []byte {
	return appendEscaped(dst, s, ' ')
}

// appendCLFToken writes a bare CLF field: "-" when empty, and with spaces
// escaped too so the field count of the line stays fixed.
func appendCLFToken(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	return appendEscaped(dst, s, ' '+1)
}

// appendEscaped writes s with " and \ escaped by a backslash and every byte
// outside lowest..0x7e as \xHH.
func appendEscaped(dst []byte, s string, lowest byte) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= lowest && b < 0x7f && b != '"' && b != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		if b == '"' || b == '\\' {
			dst = append(dst, '\\', b)
		} else {
			dst = append(dst, '\\', 'x', hexDigits[b>>4], hexDigits[b&0xf])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}
