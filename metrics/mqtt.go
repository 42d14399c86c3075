package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/guan-gateway/guan/mqtt"
)

// mqttVecs are the MQTT gateway's series.
type mqttVecs struct {
	conns     *prometheus.GaugeVec
	connects  *prometheus.CounterVec
	messages  *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	denied    *prometheus.CounterVec
	throttled *prometheus.CounterVec
	traffic   sync.Map // router → mqtt.Traffic
	seen      sync.Map // routers named in a series
}

func newMQTTVecs() *mqttVecs {
	return &mqttVecs{
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "guan_mqtt_connections",
			Help: "MQTT client connections proxied to a broker, by entrypoint and router.",
		}, []string{"entrypoint", "router"}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_mqtt_connects_total",
			Help: "MQTT CONNECT packets by outcome (accepted, refused, no_route, broker_unavailable, broker_refused, malformed, unsupported_version).",
		}, []string{"entrypoint", "router", "result"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_mqtt_messages_total",
			Help: "MQTT packets relayed, by router and direction (in: from clients; out: to clients, counted where broker traffic is framed).",
		}, []string{"router", "direction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_mqtt_bytes_total",
			Help: "MQTT bytes relayed after the CONNECT, by router and direction.",
		}, []string{"router", "direction"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_mqtt_denied_total",
			Help: "MQTT packets refused by a middleware, by router, middleware and packet (connect, publish, subscribe).",
		}, []string{"router", "middleware", "packet"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_mqtt_throttled_total",
			Help: "PUBLISH packets a rate limit held back or disconnected for, by router and middleware.",
		}, []string{"router", "middleware"}),
	}
}

func (v *mqttVecs) register(r *prometheus.Registry) {
	r.MustRegister(v.conns, v.connects, v.messages, v.bytes, v.denied, v.throttled)
}

// MQTT returns the MQTT handler's event sink; nil when metrics are off.
func (m *Metrics) MQTT() mqtt.Events {
	if !m.Enabled() {
		return nil
	}
	return mqttEvents{m.mqtt}
}

type mqttEvents struct{ v *mqttVecs }

func (e mqttEvents) Connect(ep, router, result string) {
	e.v.seen.Store(router, true)
	e.v.connects.WithLabelValues(ep, router, result).Inc()
}

func (e mqttEvents) Open(ep, router string, delta int) {
	e.v.conns.WithLabelValues(ep, router).Add(float64(delta))
}

func (e mqttEvents) Denied(router, middleware, what string) {
	e.v.denied.WithLabelValues(router, middleware, what).Inc()
}

func (e mqttEvents) Throttled(router, middleware string) {
	e.v.throttled.WithLabelValues(router, middleware).Inc()
}

func (e mqttEvents) Traffic(router string) mqtt.Traffic {
	if t, ok := e.v.traffic.Load(router); ok {
		return t.(mqtt.Traffic)
	}
	t := mqtt.Traffic{
		MessagesIn: e.v.messages.WithLabelValues(router, "in"), MessagesOut: e.v.messages.WithLabelValues(router, "out"),
		BytesIn: e.v.bytes.WithLabelValues(router, "in"), BytesOut: e.v.bytes.WithLabelValues(router, "out"),
	}
	e.v.traffic.Store(router, t)
	return t
}

// pruneMQTT deletes the counter series of mqtt routers the configuration
// no longer has. guan_mqtt_connections stays: clients connected through a
// removed router stay connected, and their gauge goes back to 0 as they leave.
func (v *mqttVecs) prune(live map[string]bool) {
	v.seen.Range(func(k, _ any) bool {
		r := k.(string)
		if r == "" || live[r] {
			return true
		}
		l := prometheus.Labels{"router": r}
		v.connects.DeletePartialMatch(l)
		v.messages.DeletePartialMatch(l)
		v.bytes.DeletePartialMatch(l)
		v.denied.DeletePartialMatch(l)
		v.throttled.DeletePartialMatch(l)
		v.traffic.Delete(r)
		v.seen.Delete(r)
		return true
	})
}
