package http1

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/guan-gateway/guan/h1wire"
)

// maxLeadingEmptyLines: empty lines before a request line are skipped
// (RFC 9112 §2.2: some clients send a CRLF after a POST body).
const maxLeadingEmptyLines = 4

// maxReusedFields: a header map that held more fields than this is not
// reused, so one large request does not keep a large map on the connection.
const maxReusedFields = 64

// readRequest reads and checks the next request head. fallback is true
// when the request needs net/http (see the package comment); err is a
// read error or a *protocolError to answer.
func (c *serverConn) readRequest() (req *http.Request, fallback bool, err error) {
	c.raw, c.norm = c.raw[:0], c.norm[:0]
	budget := c.srv.maxHeaderBytes()
	lines := 0
	reqLineEnd := -1
	for empty := 0; ; {
		line, err := c.readLine(&budget)
		if err != nil {
			return nil, false, err
		}
		if reqLineEnd < 0 {
			if len(line) == 0 {
				if empty++; empty > maxLeadingEmptyLines {
					return nil, false, badRequest("empty lines instead of a request line")
				}
				c.raw = c.raw[:0]
				continue
			}
			c.norm = append(c.norm, line...)
			reqLineEnd = len(c.norm)
			continue
		}
		if len(line) == 0 {
			break
		}
		c.norm = append(c.norm, '\n')
		c.norm = append(c.norm, line...)
		lines++
	}
	// One string holds the request line and every field: keys and values
	// are substrings of it.
	head := string(c.norm)
	reqLine, fields := head[:reqLineEnd], ""
	if reqLineEnd < len(head) {
		fields = head[reqLineEnd+1:]
	}

	method, rest, ok1 := strings.Cut(reqLine, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return nil, false, badRequest("malformed request line %q", h1wire.Truncate(reqLine))
	}
	var major, minor int
	switch proto {
	case "HTTP/1.1":
		major, minor = 1, 1
	case "HTTP/1.0":
		major, minor = 1, 0
	default:
		if method == "PRI" && target == "*" && proto == "HTTP/2.0" {
			return nil, true, nil // HTTP/2 with prior knowledge (h2c)
		}
		var okv bool
		if major, minor, okv = http.ParseHTTPVersion(proto); !okv {
			return nil, false, badRequest("malformed HTTP version %q", h1wire.Truncate(proto))
		}
		if major != 1 {
			return nil, false, &protocolError{status: http.StatusHTTPVersionNotSupported, msg: "unsupported HTTP version " + proto}
		}
	}
	if !h1wire.ValidToken(method) {
		return nil, false, badRequest("invalid method %q", h1wire.Truncate(method))
	}
	if method == http.MethodConnect || target == "" || target[0] != '/' && !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		return nil, true, nil // CONNECT, "*", or a target net/http judges
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false, badRequest("malformed request target %q", h1wire.Truncate(target))
	}

	h := c.header
	if h == nil || len(h) > maxReusedFields {
		h = make(http.Header, lines)
		c.header = h
	} else {
		clear(h) // the previous request's handler has returned
	}
	if lines > 0 {
		if err := h1wire.ParseFields(fields, lines, h); err != nil {
			return nil, false, badRequest("%v", err)
		}
	}
	// What net/http's server alone knows how to serve.
	if h["Transfer-Encoding"] != nil || h["Expect"] != nil || h["Upgrade"] != nil ||
		httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") {
		return nil, true, nil
	}

	hosts := h["Host"]
	switch {
	case len(hosts) > 1:
		return nil, false, badRequest("too many Host headers")
	case len(hosts) == 0 && minor >= 1:
		return nil, false, badRequest("missing required Host header")
	case len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
		return nil, false, badRequest("malformed Host header")
	}
	host := u.Host
	if host == "" && len(hosts) == 1 {
		host = hosts[0]
	}
	delete(h, "Host")

	cl := h["Content-Length"]
	length, err := h1wire.ContentLength(cl)
	if err != nil {
		return nil, false, badRequest("%v", err)
	}
	if len(cl) > 1 {
		h["Content-Length"] = cl[:1] // equal repeats collapse, as net/http
	}

	conn := h["Connection"]
	closeAfter := httpguts.HeaderValuesContainsToken(conn, "close") ||
		minor == 0 && !httpguts.HeaderValuesContainsToken(conn, "keep-alive")

	ctx := c.ctx
	if c.srv.RequestContext != nil {
		ctx = c.srv.RequestContext(ctx)
	}
	var reqBody io.ReadCloser = http.NoBody
	c.body = nil
	if length > 0 {
		c.body = &body{c: c, remaining: length}
		reqBody = c.body
	}
	// The literal stays on the stack: WithContext copies it.
	return (&http.Request{
		Method:        method,
		URL:           u,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        h,
		Body:          reqBody,
		ContentLength: length,
		Close:         closeAfter,
		Host:          host,
		RemoteAddr:    c.remoteAddr,
		RequestURI:    target,
		TLS:           c.tls,
	}).WithContext(ctx), false, nil
}

// readLine reads one line of the head into c.raw and returns it without
// its CRLF (or bare LF); the returned slice is valid until the next call.
func (c *serverConn) readLine(budget *int) ([]byte, error) {
	start := len(c.raw)
	for {
		frag, err := c.br.ReadSlice('\n')
		if len(frag) > *budget {
			return nil, &protocolError{status: http.StatusRequestHeaderFieldsTooLarge, msg: "request header too large"}
		}
		*budget -= len(frag)
		c.raw = append(c.raw, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if len(c.raw) > 0 && !isTimeout(err) {
				return nil, badRequest("request head cut short")
			}
			return nil, err
		}
	}
	line := c.raw[start : len(c.raw)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
