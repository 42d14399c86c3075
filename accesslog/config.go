package accesslog

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/guan-gateway/guan/config/static"
)

// Field identifies a JSON access log field.
type field int

const (
	fClientAddr field = iota
	fClientHost
	fClientPort
	fClientUsername
	fDownstreamContentSize
	fDownstreamStatus
	fDuration
	fMiddlewareDecision
	fOriginContentSize
	fOriginDuration
	fOriginStatus
	fOverhead
	fRequestAddr
	fRequestContentSize
	fRequestCount
	fRequestHost
	fRequestMethod
	fRequestPath
	fRequestPort
	fRequestProtocol
	fRequestScheme
	fRetryAttempts
	fRouterName
	fServiceAddr
	fServiceName
	fServiceURL
	fStartLocal
	fStartUTC
	fTLSCipher
	fTLSVersion
	fEntryPointName
	numFields
)

// fieldNames are the JSON keys, as in Traefik's access log.
var fieldNames = [numFields]string{
	"ClientAddr", "ClientHost", "ClientPort", "ClientUsername",
	"DownstreamContentSize", "DownstreamStatus", "Duration",
	"MiddlewareDecision", "OriginContentSize", "OriginDuration", "OriginStatus", "Overhead",
	"RequestAddr", "RequestContentSize", "RequestCount", "RequestHost",
	"RequestMethod", "RequestPath", "RequestPort", "RequestProtocol",
	"RequestScheme", "RetryAttempts", "RouterName", "ServiceAddr",
	"ServiceName", "ServiceURL", "StartLocal", "StartUTC", "TLSCipher",
	"TLSVersion", "entryPointName",
}

// headerMode says what to do with a header in the JSON log.
type headerMode uint8

const (
	headerDrop headerMode = iota
	headerKeep
	headerRedact
)

// settings is the parsed configuration.
type settings struct {
	json bool

	// Filters; filtered is false when every request is logged.
	filtered    bool
	statusCodes [][2]int
	retries     bool
	minDuration time.Duration

	keep [numFields]bool

	headerDefault headerMode
	headerNames   map[string]headerMode // canonical header name -> mode
	anyHeaders    bool                  // some header can be logged
}

func parseSettings(cfg *static.AccessLog) (*settings, error) {
	s := &settings{}
	switch strings.ToLower(cfg.Format) {
	case "", "common":
	case "json":
		s.json = true
	default:
		return nil, fmt.Errorf("accessLog.format %q: use \"common\" or \"json\"", cfg.Format)
	}
	if cfg.BufferingSize < 0 {
		return nil, fmt.Errorf("accessLog.bufferingSize %d: use 0 (write each line at once) or a positive number of lines", cfg.BufferingSize)
	}

	if f := cfg.Filters; f != nil {
		for _, sc := range f.StatusCodes {
			r, err := parseStatusRange(sc)
			if err != nil {
				return nil, fmt.Errorf("accessLog.filters.statusCodes: %w", err)
			}
			s.statusCodes = append(s.statusCodes, r)
		}
		s.retries = f.RetryAttempts
		if f.MinDuration != nil {
			s.minDuration = f.MinDuration.Std()
		}
		s.filtered = len(s.statusCodes) > 0 || s.retries || s.minDuration > 0
	}

	keepDefault := true
	var names map[string]string
	var headers *static.FieldHeaders
	if f := cfg.Fields; f != nil {
		switch strings.ToLower(f.DefaultMode) {
		case "", "keep":
		case "drop":
			keepDefault = false
		default:
			return nil, fmt.Errorf("accessLog.fields.defaultMode %q: use \"keep\" or \"drop\"", f.DefaultMode)
		}
		names, headers = f.Names, f.Headers
	}
	for i := range s.keep {
		s.keep[i] = keepDefault
	}
	for name, mode := range names {
		var keep bool
		switch strings.ToLower(mode) {
		case "keep":
			keep = true
		case "drop":
		default:
			return nil, fmt.Errorf("accessLog.fields.names.%s %q: use \"keep\" or \"drop\"", name, mode)
		}
		// Unknown names are accepted: Traefik configurations may name
		// fields this gateway does not produce.
		for i, n := range fieldNames {
			if strings.EqualFold(n, name) {
				s.keep[i] = keep
			}
		}
	}

	if headers != nil {
		m, err := parseHeaderMode(headers.DefaultMode, "accessLog.fields.headers.defaultMode")
		if err != nil {
			return nil, err
		}
		s.headerDefault = m
		for name, mode := range headers.Names {
			m, err := parseHeaderMode(mode, "accessLog.fields.headers.names."+name)
			if err != nil {
				return nil, err
			}
			if s.headerNames == nil {
				s.headerNames = map[string]headerMode{}
			}
			s.headerNames[http.CanonicalHeaderKey(name)] = m
		}
	}
	s.anyHeaders = s.headerDefault != headerDrop
	for _, m := range s.headerNames {
		if m != headerDrop {
			s.anyHeaders = true
		}
	}
	return s, nil
}

func parseHeaderMode(mode, key string) (headerMode, error) {
	switch strings.ToLower(mode) {
	case "", "drop":
		return headerDrop, nil
	case "keep":
		return headerKeep, nil
	case "redact":
		return headerRedact, nil
	}
	return 0, fmt.Errorf("%s %q: use \"keep\", \"drop\" or \"redact\"", key, mode)
}

// parseStatusRange parses "404" or "500-599".
func parseStatusRange(s string) ([2]int, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	from, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil || from < 100 || from > 999 {
		return [2]int{}, fmt.Errorf("%q: use a status code like \"404\" or a range like \"500-599\"", s)
	}
	to := from
	if isRange {
		to, err = strconv.Atoi(strings.TrimSpace(hi))
		if err != nil || to < from || to > 999 {
			return [2]int{}, fmt.Errorf("%q: use a status code like \"404\" or a range like \"500-599\" with the smaller code first", s)
		}
	}
	return [2]int{from, to}, nil
}

// keepLine applies the filters: a request is logged when no filter is set
// or when any filter matches, as in Traefik.
func (s *settings) keepLine(status, retries int, d time.Duration) bool {
	if !s.filtered {
		return true
	}
	for _, r := range s.statusCodes {
		if status >= r[0] && status <= r[1] {
			return true
		}
	}
	if s.retries && retries > 0 {
		return true
	}
	return s.minDuration > 0 && d > s.minDuration
}

func (s *settings) headerMode(name string) headerMode {
	if m, ok := s.headerNames[name]; ok {
		return m
	}
	return s.headerDefault
}
