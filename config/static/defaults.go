package static

import (
	"math"
	"strings"
	"time"

	"github.com/guan-gateway/guan/config"
)

// Defaults that other packages may want to refer to.
const (
	// InternalEntryPoint is the entrypoint that serves the API, ping and
	// metrics unless they are routed manually.
	InternalEntryPoint = "traefik"
	// InternalEntryPointAddress is where InternalEntryPoint listens when the
	// configuration does not declare it.
	InternalEntryPointAddress = ":8080"

	DefaultGraceTimeOut         = 10 * time.Second
	DefaultReadTimeout          = 60 * time.Second
	DefaultIdleTimeout          = 180 * time.Second
	DefaultMaxHeaderBytes       = 1 << 20
	DefaultMaxConcurrentStreams = 250
	DefaultThrottleDuration     = 2 * time.Second
)

// DefaultBuckets are the Prometheus histogram buckets (seconds) Traefik uses.
var DefaultBuckets = []float64{0.1, 0.3, 1.2, 5.0}

// SetDefaults fills every unset key with Traefik v3's default. Optional
// sections (api, ping, metrics, accessLog, providers.file) get defaults only
// when they are present. When the API (insecure), ping or Prometheus is
// served on the "traefik" entrypoint and none is declared, one is added on
// ":8080", as Traefik does.
func (c *Configuration) SetDefaults() {
	if c.Core == nil {
		c.Core = &Core{}
	}
	setString(&c.Core.DefaultRuleSyntax, "v3")

	if c.Log == nil {
		c.Log = &Log{}
	}
	setString(&c.Log.Level, "ERROR")
	setString(&c.Log.Format, "common")
	c.Log.Format = strings.ToLower(c.Log.Format)

	if c.Providers == nil {
		c.Providers = &Providers{}
	}
	setDuration(&c.Providers.ProvidersThrottleDuration, DefaultThrottleDuration)
	if f := c.Providers.File; f != nil {
		setBool(&f.Watch, true)
	}

	needInternal := false
	if a := c.API; a != nil {
		setBool(&a.Dashboard, true)
		setString(&a.BasePath, "/")
		needInternal = needInternal || a.Insecure
	}
	if p := c.Ping; p != nil {
		setString(&p.EntryPoint, InternalEntryPoint)
		if p.TerminatingStatusCode == 0 {
			p.TerminatingStatusCode = 503
		}
		needInternal = needInternal || !p.ManualRouting && p.EntryPoint == InternalEntryPoint
	}
	if c.Metrics != nil && c.Metrics.Prometheus != nil {
		p := c.Metrics.Prometheus
		if len(p.Buckets) == 0 {
			p.Buckets = append([]float64(nil), DefaultBuckets...)
		}
		setBool(&p.AddEntryPointsLabels, true)
		setBool(&p.AddServicesLabels, true)
		setString(&p.EntryPoint, InternalEntryPoint)
		needInternal = needInternal || !p.ManualRouting && p.EntryPoint == InternalEntryPoint
	}
	if a := c.AccessLog; a != nil {
		setString(&a.Format, "common")
		a.Format = strings.ToLower(a.Format)
		if a.Fields == nil {
			a.Fields = &AccessLogFields{}
		}
		setString(&a.Fields.DefaultMode, "keep")
		if a.Fields.Headers == nil {
			a.Fields.Headers = &FieldHeaders{}
		}
		setString(&a.Fields.Headers.DefaultMode, "drop")
	}

	if needInternal {
		if _, ok := c.EntryPoints[InternalEntryPoint]; !ok {
			if c.EntryPoints == nil {
				c.EntryPoints = map[string]*EntryPoint{}
			}
			c.EntryPoints[InternalEntryPoint] = &EntryPoint{Address: InternalEntryPointAddress}
		}
	}
	for _, ep := range c.EntryPoints {
		if ep != nil {
			ep.SetDefaults()
		}
	}
}

// SetDefaults fills the unset timeouts and limits of one entrypoint.
func (e *EntryPoint) SetDefaults() {
	if e.Transport == nil {
		e.Transport = &Transport{}
	}
	t := e.Transport
	if t.LifeCycle == nil {
		t.LifeCycle = &LifeCycle{}
	}
	setDuration(&t.LifeCycle.RequestAcceptGraceTimeout, 0)
	setDuration(&t.LifeCycle.GraceTimeOut, DefaultGraceTimeOut)
	if t.RespondingTimeouts == nil {
		t.RespondingTimeouts = &RespondingTimeouts{}
	}
	setDuration(&t.RespondingTimeouts.ReadTimeout, DefaultReadTimeout)
	setDuration(&t.RespondingTimeouts.WriteTimeout, 0)
	setDuration(&t.RespondingTimeouts.IdleTimeout, DefaultIdleTimeout)
	setDuration(&t.KeepAliveMaxTime, 0)

	if e.ForwardedHeaders == nil {
		e.ForwardedHeaders = &ForwardedHeaders{}
	}
	if e.HTTP == nil {
		e.HTTP = &HTTP{}
	}
	if e.HTTP.MaxHeaderBytes == 0 {
		e.HTTP.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if r := e.HTTP.Redirections; r != nil && r.EntryPoint != nil {
		setString(&r.EntryPoint.Scheme, "https")
		setBool(&r.EntryPoint.Permanent, true)
		if r.EntryPoint.Priority == 0 {
			// Wins over every ordinary router, as in Traefik.
			r.EntryPoint.Priority = math.MaxInt32 - 1
		}
	}
	if e.HTTP2 == nil {
		e.HTTP2 = &HTTP2{}
	}
	if e.HTTP2.MaxConcurrentStreams == 0 {
		e.HTTP2.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
}

func setString(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setBool(p **bool, v bool) {
	if *p == nil {
		*p = &v
	}
}

func setDuration(p **config.Duration, v time.Duration) {
	if *p == nil {
		d := config.Duration(v)
		*p = &d
	}
}
