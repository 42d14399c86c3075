// Package deps pins modules during bring-up; removed once every module is imported for real.
package deps

import (
	_ "github.com/andybalholm/brotli"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/gorilla/mux"
	_ "github.com/gorilla/websocket"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/pelletier/go-toml/v2/unstable"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/net/http2"
	_ "golang.org/x/net/http2/h2c"
	_ "google.golang.org/grpc"
	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/interop/grpc_testing"
)
