#!/usr/bin/env bash
# Side-by-side benchmark: Guan against nginx, HAProxy, Caddy and the upstream
# directly. Installs what is missing (Debian packages), builds the binaries
# and runs bench/compare. Usage: bench/run.sh [--quick] [compare flags…]
# The Markdown report is printed and written to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v caddy >/dev/null || need+=(caddy)
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
if ((${#need[@]})); then
	echo "installing: ${need[*]}"
	if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
	# The packages start system services on the default ports; the benchmark
	# starts its own copies on free loopback ports and needs the CPUs.
	for svc in nginx haproxy caddy; do
		$SUDO systemctl stop "$svc" 2>/dev/null || $SUDO service "$svc" stop 2>/dev/null || true
	done
fi
export PATH="$PATH:/usr/sbin:/sbin"

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
echo "building"
go build -o "$bin/gateway" ./cmd/gateway
go build -o "$bin/upstream" ./bench/upstream
go build -o "$bin/compare" ./bench/compare

args=()
for a in "$@"; do
	case "$a" in
	--quick) args+=(-quick) ;;
	*) args+=("$a") ;;
	esac
done
"$bin/compare" -gateway "$bin/gateway" -upstream "$bin/upstream" -out bench/results "${args[@]}"
