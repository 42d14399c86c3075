package mqtt

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/guan-gateway/guan/routers"
)

// WebSocket serves MQTT over WebSocket (subprotocol "mqtt", binary
// messages, as MQTT 3.1.1 and 5.0 specify) with one route: the HTTP router
// in front of it chose the clients, the route's middlewares and brokers
// serve them.
func (h *Handler) WebSocket(route *Route) http.Handler {
	up := &websocket.Upgrader{
		Subprotocols:    []string{"mqtt"},
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		// Devices and browsers of any origin: who may connect is the HTTP
		// router's and the MQTT middlewares' decision.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			http.Error(w, "MQTT over WebSocket: send a WebSocket upgrade with subprotocol mqtt", http.StatusBadRequest)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade answered the client
		}
		if ws.Subprotocol() != "mqtt" {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, "subprotocol mqtt required"), time.Now().Add(time.Second))
			ws.Close()
			return
		}
		serverName := ""
		if r.TLS != nil {
			serverName = r.TLS.ServerName
		}
		h.ServeMQTT(&wsConn{ws: ws}, serverName, oneRoute{route})
	})
}

type oneRoute struct{ r *Route }

func (o oneRoute) Match(*routers.MQTTInfo) *Route { return o.r }

// wsConn reads and writes an MQTT byte stream as WebSocket binary messages.
type wsConn struct {
	ws  *websocket.Conn
	r   io.Reader // the message being read
	wmu sync.Mutex
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, io.ErrUnexpectedEOF // MQTT over WebSocket is binary only
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) Close() error                       { return c.ws.Close() }
func (c *wsConn) LocalAddr() net.Addr                { return c.ws.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr               { return c.ws.RemoteAddr() }
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.ws.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }
func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.ws.SetReadDeadline(t); err != nil {
		return err
	}
	return c.ws.SetWriteDeadline(t)
}
