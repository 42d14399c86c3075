package main

import (
	"fmt"
	"github.com/guan-gateway/guan/config/dynamic"
	"io"
	"log/slog"

	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/providers/file"
	"github.com/guan-gateway/guan/snapshot"
	"github.com/guan-gateway/guan/statestore"
)

// check validates the static configuration and everything the file provider
// would load, printing one "file:line:col: message" line per problem.
func check(src staticSource, stdout, stderr io.Writer) int {
	cfg, used, err := loadStatic(src)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	msgs := map[string]providers.Message{}
	if cfg.Providers != nil && cfg.Providers.File != nil {
		msg := file.New(*cfg.Providers.File, slog.New(slog.DiscardHandler)).Load()
		if msg.Err != nil {
			fmt.Fprintln(stderr, msg.Err)
			return 1
		}
		for _, w := range msg.Warnings {
			fmt.Fprintln(stderr, "warning:", w)
		}
		msgs[msg.Provider] = msg
	}
	store := statestore.New()
	b := store.Begin()
	defer b.Abort() // stops any health checker the build started
	input := buildInput(cfg, msgs, b, nil, slog.New(slog.DiscardHandler))
	input.ValidateUnused = true
	snap, err := snapshot.Build(input)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if probs := snap.Problems(); len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(stderr, p.Error())
		}
		return 1
	}
	st := snap.Status()
	var mq dynamic.MQTTConfiguration
	if raw := snap.Raw(); raw != nil && raw.MQTT != nil {
		mq = *raw.MQTT
	}
	fmt.Fprintf(stdout, "configuration OK (%s): %d routers, %d services, %d middlewares, %d TCP routers, %d TCP services, %d TCP middlewares, %d MQTT routers, %d MQTT services, %d MQTT middlewares\n",
		used, len(st.Routers), len(st.Services), len(st.Middlewares), len(st.TCPRouters), len(st.TCPServices), len(st.TCPMiddlewares),
		len(mq.Routers), len(mq.Services), len(mq.Middlewares))
	return 0
}
