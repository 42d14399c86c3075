// Package mqtt is the gateway's MQTT side: it reads a client's CONNECT,
// picks a router and runs its middlewares on it, connects the client to a
// broker of the router's service, and relays packets both ways — framing
// them only when a middleware needs to look at PUBLISH or SUBSCRIBE, and
// copying bytes otherwise.
package mqtt
