package dynamic

import "github.com/guan-gateway/guan/config"

// MQTTConfiguration is the mqtt section: routers that pick a broker service
// for a connecting MQTT client, and the middlewares applied to its packets.
type MQTTConfiguration struct {
	Routers     map[string]*MQTTRouter     `json:"routers,omitempty"`
	Services    map[string]*MQTTService    `json:"services,omitempty"`
	Middlewares map[string]*MQTTMiddleware `json:"middlewares,omitempty"`
}

// MQTTRouter matches a client's CONNECT with Rule.
type MQTTRouter struct {
	EntryPoints []string       `json:"entryPoints,omitempty"`
	Middlewares []string       `json:"middlewares,omitempty"`
	Service     string         `json:"service,omitempty"`
	Rule        string         `json:"rule,omitempty"`
	Priority    int            `json:"priority,omitempty"`
	TLS         *MQTTRouterTLS `json:"tls,omitempty"`
	// Heartbeat "local": the gateway answers PINGREQ itself and keeps the
	// broker connection without keep-alive; "" (default) relays pings.
	Heartbeat string `json:"heartbeat,omitempty"`
}

// MQTTRouterTLS makes the router's entry points terminate TLS (or TLCP).
type MQTTRouterTLS struct {
	Options string `json:"options,omitempty"`
}

// MQTTService is a pool of brokers.
type MQTTService struct {
	LoadBalancer *MQTTLoadBalancer `json:"loadBalancer,omitempty"`
}

// MQTTLoadBalancer spreads clients over brokers.
type MQTTLoadBalancer struct {
	// Affinity: "clientID" (default) keeps a client ID on the same broker
	// across reconnects (rendezvous hashing); "roundRobin" spreads evenly.
	Affinity string       `json:"affinity,omitempty"`
	Servers  []MQTTServer `json:"servers,omitempty"`
	// DialTimeout bounds the connection to a broker (default 5s).
	DialTimeout *config.Duration `json:"dialTimeout,omitempty"`
	// HealthCheck probes every broker with a CONNECT; brokers that fail
	// get no new clients until they pass again.
	HealthCheck *MQTTHealthCheck `json:"healthCheck,omitempty"`
}

// MQTTHealthCheck is a TCP connect plus an MQTT CONNECT/CONNACK probe.
type MQTTHealthCheck struct {
	Interval *config.Duration `json:"interval,omitempty"` // default 10s
	Timeout  *config.Duration `json:"timeout,omitempty"`  // default min(5s, interval)
}

// MQTTServer is one broker.
type MQTTServer struct {
	Address string `json:"address,omitempty"` // host:port
}

// MQTTMiddleware is one of the MQTT middlewares.
type MQTTMiddleware struct {
	ConnectAuth *MQTTConnectAuth `json:"connectAuth,omitempty"`
	RateLimit   *MQTTRateLimit   `json:"rateLimit,omitempty"`
	TopicACL    *MQTTTopicACL    `json:"topicACL,omitempty"`
	// JWT verifies the token a client sends as its CONNECT password, with
	// the keys of the HTTP jwt middleware (its token-source and header
	// keys do not apply).
	JWT *JWT `json:"jwt,omitempty"`
	// OPA asks an embedded policy about CONNECT, PUBLISH and SUBSCRIBE.
	OPA *OPA `json:"opa,omitempty"`
}

// MQTTConnectAuth checks the CONNECT's user name and password against
// htpasswd lines, as basicAuth does.
type MQTTConnectAuth struct {
	Users     []string `json:"users,omitempty"`
	UsersFile string   `json:"usersFile,omitempty"`
}

// MQTTRateLimit bounds what one client publishes.
type MQTTRateLimit struct {
	MessagesPerSecond float64 `json:"messagesPerSecond,omitempty"`
	Burst             int     `json:"burst,omitempty"`
	BytesPerSecond    int     `json:"bytesPerSecond,omitempty"`
	// Action when over the limit: "throttle" (default: stop reading from
	// the client until it is within the limit) or "disconnect".
	Action string `json:"action,omitempty"`
	// Redis shares each client's message budget among every gateway
	// instance (keys of the HTTP rateLimit's redis section).
	Redis *RateLimitRedis `json:"redis,omitempty"`
}

// MQTTTopicACL lists the topic filters a client may publish and subscribe
// to; {clientid} and {username} stand for the client's own.
type MQTTTopicACL struct {
	Publish   []string `json:"publish,omitempty"`
	Subscribe []string `json:"subscribe,omitempty"`
	// Action on a denied PUBLISH: "drop" (default) or "disconnect".
	Action string `json:"action,omitempty"`
}
