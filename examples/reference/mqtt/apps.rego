package guan.authz

default allow := false

# A client connects with a token issued for its own client ID...
allow if {
	input.action == "connect"
	input.jwt.sub == input.clientID
}

# ...publishes under apps/<its id>/ and subscribes to news.
allow if {
	input.action == "publish"
	startswith(input.topic, sprintf("apps/%s/", [input.clientID]))
}

allow if {
	input.action == "subscribe"
	input.topic == "news"
}
