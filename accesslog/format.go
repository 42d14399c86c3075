package accesslog

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/guan-gateway/guan/reqinfo"
)

// entry is what one line is made of. It only lives during the request.
type entry struct {
	entryPoint string
	r          *http.Request
	info       *reqinfo.Info
	respHeader http.Header
	status     int
	size       int64
	reqSize    int64
	count      uint64
	start      time.Time
	duration   time.Duration
}

// requestPath is the request target as the client sent it, before any
// middleware rewrote the URL.
func (e *entry) requestPath() string {
	if p := e.r.RequestURI; strings.HasPrefix(p, "/") {
		return p
	}
	return e.r.URL.RequestURI()
}

func (e *entry) username() string {
	if e.info.ClientUsername != "" {
		return e.info.ClientUsername
	}
	return "-"
}

// splitHostPort is net.SplitHostPort without the error allocation for a
// Host header that has no port; a missing port is "-".
func splitHostPort(addr string) (host, port string) {
	i := strings.LastIndexByte(addr, ':')
	switch {
	case i < 0:
		return addr, "-"
	case addr[0] == '[':
		end := strings.IndexByte(addr, ']')
		switch {
		case end < 0:
			return addr, "-"
		case end+1 == len(addr):
			return addr[1:end], "-"
		case end+1 == i:
			host, port = addr[1:end], addr[i+1:]
		default:
			return addr, "-"
		}
	case strings.IndexByte(addr[:i], ':') >= 0:
		return addr, "-" // bare IPv6 address
	default:
		host, port = addr[:i], addr[i+1:]
	}
	if port == "" {
		port = "-"
	}
	return host, port
}

func headerValue(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

const clfTime = "02/Jan/2006:15:04:05 -0700"

// appendCommon writes Traefik's Common Log Format line:
//
//	<client> - <user> [<time>] "<method> <path> <proto>" <status> <size> "<referer>" "<user-agent>" <count> "<router>" "<service URL>" <duration>ms
func appendCommon(b []byte, e *entry) []byte {
	host, _ := splitHostPort(e.r.RemoteAddr)
	b = appendCLFToken(b, host)
	b = append(b, " - "...)
	b = appendCLFToken(b, e.username())
	b = append(b, " ["...)
	b = e.start.AppendFormat(b, clfTime)
	b = append(b, `] "`...)
	b = appendCLFEscaped(b, e.r.Method)
	b = append(b, ' ')
	b = appendCLFEscaped(b, e.requestPath())
	b = append(b, ' ')
	b = appendCLFEscaped(b, e.r.Proto)
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.size, 10)
	b = append(b, ' ')
	b = appendCLFQuoted(b, headerValue(e.r.Header, "Referer"))
	b = append(b, ' ')
	b = appendCLFQuoted(b, headerValue(e.r.Header, "User-Agent"))
	b = append(b, ' ')
	b = strconv.AppendUint(b, e.count, 10)
	b = append(b, ' ')
	b = appendCLFQuoted(b, e.info.Router)
	b = append(b, ' ')
	b = appendCLFQuoted(b, e.info.ServiceURL)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.duration.Milliseconds(), 10)
	return append(b, "ms\n"...)
}

// jsonLine builds a JSON object field by field.
type jsonLine struct {
	b     []byte
	first bool
	set   *settings
}

func (j *jsonLine) key(k string) {
	if j.first {
		j.first = false
	} else {
		j.b = append(j.b, ',')
	}
	j.b = appendJSONString(j.b, k)
	j.b = append(j.b, ':')
}

func (j *jsonLine) str(f field, v string) {
	if j.set.keep[f] {
		j.key(fieldNames[f])
		j.b = appendJSONString(j.b, v)
	}
}

func (j *jsonLine) int(f field, v int64) {
	if j.set.keep[f] {
		j.key(fieldNames[f])
		j.b = strconv.AppendInt(j.b, v, 10)
	}
}

func (j *jsonLine) time(f field, t time.Time) {
	if j.set.keep[f] {
		j.key(fieldNames[f])
		j.b = append(j.b, '"')
		j.b = t.AppendFormat(j.b, time.RFC3339Nano)
		j.b = append(j.b, '"')
	}
}

// headers writes prefix+name for each header the configuration lets
// through.
func (j *jsonLine) headers(prefix string, h http.Header) {
	for name, values := range h {
		mode := j.set.headerMode(name)
		if mode == headerDrop || len(values) == 0 {
			continue
		}
		if j.first {
			j.first = false
		} else {
			j.b = append(j.b, ',')
		}
		j.b = append(j.b, '"')
		j.b = append(j.b, prefix...)
		j.b = appendJSONEscaped(j.b, name)
		j.b = append(j.b, '"', ':')
		if mode == headerRedact {
			j.b = append(j.b, `"REDACTED"`...)
			continue
		}
		if len(values) == 1 {
			j.b = appendJSONString(j.b, values[0])
			continue
		}
		j.b = appendJSONString(j.b, strings.Join(values, ","))
	}
}

// appendJSON writes one JSON object with Traefik's access log field names.
func appendJSON(b []byte, set *settings, e *entry) []byte {
	j := jsonLine{b: append(b, '{'), first: true, set: set}
	r, info := e.r, e.info

	clientHost, clientPort := splitHostPort(r.RemoteAddr)
	j.str(fClientAddr, r.RemoteAddr)
	j.str(fClientHost, clientHost)
	j.str(fClientPort, clientPort)
	j.str(fClientUsername, e.username())
	j.int(fDownstreamContentSize, e.size)
	j.int(fDownstreamStatus, int64(e.status))
	j.int(fDuration, int64(e.duration))
	if info.Decision != "" {
		j.str(fMiddlewareDecision, info.Decision)
	}
	overhead := e.duration
	if info.OriginStatus != 0 {
		j.int(fOriginContentSize, info.OriginSize)
		j.int(fOriginDuration, int64(info.OriginDuration))
		j.int(fOriginStatus, int64(info.OriginStatus))
		overhead -= info.OriginDuration
	}
	j.int(fOverhead, int64(overhead))
	reqHost, reqPort := splitHostPort(r.Host)
	j.str(fRequestAddr, r.Host)
	j.int(fRequestContentSize, e.reqSize)
	j.int(fRequestCount, int64(e.count))
	j.str(fRequestHost, reqHost)
	j.str(fRequestMethod, r.Method)
	j.str(fRequestPath, e.requestPath())
	j.str(fRequestPort, reqPort)
	j.str(fRequestProtocol, r.Proto)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	j.str(fRequestScheme, scheme)
	j.int(fRetryAttempts, int64(info.RetryAttempts))
	if info.Router != "" {
		j.str(fRouterName, info.Router)
	}
	if info.ServiceAddr != "" {
		j.str(fServiceAddr, info.ServiceAddr)
	}
	if info.Service != "" {
		j.str(fServiceName, info.Service)
	}
	if info.ServiceURL != "" {
		j.str(fServiceURL, info.ServiceURL)
	}
	j.time(fStartLocal, e.start.Local())
	j.time(fStartUTC, e.start.UTC())
	if r.TLS != nil {
		j.str(fTLSCipher, reqinfo.TLSCipher(r.TLS.Version, r.TLS.CipherSuite))
		j.str(fTLSVersion, reqinfo.TLSVersion(r.TLS.Version))
	}
	j.str(fEntryPointName, e.entryPoint)

	if set.anyHeaders {
		j.headers("request_", r.Header)
		j.headers("downstream_", e.respHeader)
	}

	j.key("level")
	j.b = append(j.b, `"info"`...)
	j.key("msg")
	j.b = append(j.b, `""`...)
	j.key("time")
	j.b = append(j.b, '"')
	j.b = time.Now().AppendFormat(j.b, time.RFC3339)
	j.b = append(j.b, '"', '}', '\n')
	return j.b
}
