package dashboard

import (
	"net/http"
	"slices"
	"strings"
)

// MQTTSource may be implemented by a Source to serve /api/mqtt/*: the mqtt
// routers, services and middlewares with their live connection counts.
type MQTTSource interface {
	MQTT() MQTTState
}

// MQTTState is the MQTT side of the runtime.
type MQTTState struct {
	Routers     []MQTTRouter     `json:"routers"`
	Services    []MQTTService    `json:"services"`
	Middlewares []MQTTMiddleware `json:"middlewares"`
}

// MQTTRouter is one mqtt router.
type MQTTRouter struct {
	Name        string   `json:"name"`
	Provider    string   `json:"provider"`
	EntryPoints []string `json:"entryPoints"`
	Rule        string   `json:"rule"`
	Service     string   `json:"service"`
	Middlewares []string `json:"middlewares,omitempty"`
	Priority    int      `json:"priority,omitempty"`
	TLSOptions  string   `json:"tlsOptions,omitempty"`
	Status      string   `json:"status"` // enabled, disabled
	Error       []string `json:"error,omitempty"`
	Connections int      `json:"connections"`
}

// MQTTService is one broker pool.
type MQTTService struct {
	Name        string       `json:"name"`
	Provider    string       `json:"provider"`
	Affinity    string       `json:"affinity"`
	Servers     []MQTTServer `json:"servers"`
	UsedBy      []string     `json:"usedBy,omitempty"`
	Connections int          `json:"connections"`
}

// MQTTServer is one broker with the clients connected to it.
type MQTTServer struct {
	Address     string `json:"address"`
	Status      string `json:"status"` // up, or down when its health check fails
	Connections int    `json:"connections"`
}

// MQTTMiddleware is one mqtt middleware.
type MQTTMiddleware struct {
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Type     string   `json:"type"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

func (a *api) mqtt() MQTTState {
	if s, ok := a.src.(MQTTSource); ok {
		return s.MQTT()
	}
	return MQTTState{}
}

// mqttList serves one of the lists, filtered by ?search= on the name.
func mqttList[T any](a *api, pick func(MQTTState) []T, name func(T) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		items := pick(a.mqtt())
		q, st := r.URL.Query().Get("search"), r.URL.Query().Get("status")
		out := make([]T, 0, len(items))
		for _, it := range items {
			if q != "" && !strings.Contains(name(it), q) {
				continue
			}
			if rt, ok := any(it).(MQTTRouter); ok && st != "" && rt.Status != st {
				continue
			}
			out = append(out, it)
		}
		slices.SortFunc(out, func(x, y T) int { return strings.Compare(name(x), name(y)) })
		writeJSON(w, out)
	}
}

func mqttOne[T any](a *api, pick func(MQTTState) []T, name func(T) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := pathName(r)
		if err != nil {
			writeError(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, it := range pick(a.mqtt()) {
			if name(it) == n {
				writeJSON(w, it)
				return
			}
		}
		writeError(w, "not found: "+n, http.StatusNotFound)
	}
}
