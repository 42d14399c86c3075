#!/usr/bin/env bash
# Installs what the tests need (where missing) and runs every check CI runs:
# gofmt, go vet, the race-enabled test suite (unit + end-to-end), the socket
# paths again without the race detector, and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v chromium >/dev/null || need+=(chromium)
command -v redis-server >/dev/null || need+=(redis-server)
command -v testssl >/dev/null || need+=(testssl.sh)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
command -v gtlsclient >/dev/null || need+=(ngtcp2-client)
if ((${#need[@]})); then
	echo "installing: ${need[*]}"
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
	# The package starts a system Redis on port 6379; tests start their own
	# on free ports and need none.
	if [[ " ${need[*]} " == *" redis-server "* ]]; then
		$SUDO systemctl stop redis-server 2>/dev/null || $SUDO service redis-server stop 2>/dev/null || true
	fi
	# Likewise the system Mosquitto on 1883: tests start their own brokers.
	if [[ " ${need[*]} " == *" mosquitto "* ]]; then
		$SUDO systemctl stop mosquitto 2>/dev/null || $SUDO service mosquitto stop 2>/dev/null || true
	fi
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

echo "== go test without the race detector on the socket paths"
# Race-detector builds read and write sockets through net (see sockio);
# this run covers the raw path the released binary takes, in the packages
# and in a gateway binary built without -race for the end-to-end tests.
GUAN_E2E_NORACE=1 go test -count=1 -timeout 10m ./sockio ./entrypoints/... ./services/h1transport ./services/proxy ./test/...

echo "== fuzz (short run per target)"
# A count, not a duration: a duration-bound run can fail with a spurious
# "context deadline exceeded" from Go's fuzz coordinator (go.dev/issue/75804,
# not fixed in Go 1.26).
fuzztime="${FUZZTIME:-20000x}"
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "-- $pkg $target"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/guan-fuzz.log 2>&1 || { cat /tmp/guan-fuzz.log; exit 1; }
	done
done

echo "== benchmarks compile and run once"
go test -run '^$' -bench . -benchtime 1x ./bench/... >/dev/null

echo "all checks passed"
