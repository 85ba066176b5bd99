#!/usr/bin/env bash
# What open dashboards cost (docs/benchmarks.md): trafficd's CPU with 0 and then N open
# /status/events streams (curl -N), each for the same time, read from /proc/<pid>/stat.
#   bench/status_streams.sh [build-dir] [streams] [seconds]
set -euo pipefail
build=${1:-build/release}
streams=${2:-50}
seconds=${3:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

ENCRIPTION_KEY=0123456789abcdef0123456789abcdef ADMIN_TOKEN=bench LOG_LEVEL=warn \
  "$build/apps/trafficd/trafficd" --host 127.0.0.1 --port "$port" --threads 2 \
  --offers-recipe-path "$root/tests/data/recipes/offersRecipe.json.gz" \
  --campaigns-recipe-path "$root/tests/data/recipes/campaignsRecipe.json.gz" \
  --maxmind-path "$root/tests/data/geoip/test-data/GeoIP2-City-Test.mmdb" \
  --maxmind-path-isp "$root/tests/data/geoip/test-data/GeoIP2-ISP-Test.mmdb" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done

measure() {
  local before after
  before=$(cpu_ticks "$pid")
  sleep "$seconds"
  after=$(cpu_ticks "$pid")
  python3 -c "print(f'{($after - $before) / $ticks / $seconds * 100:.3f}')"
}
idle=$(measure)
for _ in $(seq 1 "$streams"); do
  curl -sN -H 'Authorization: Bearer bench' "http://127.0.0.1:$port/status/events" > /dev/null &
done
sleep 2  # connected
with=$(measure)
echo "trafficd CPU, % of one core over ${seconds} s: idle ${idle}; with ${streams} dashboards streaming ${with};" \
  "the streams cost $(python3 -c "print(f'{$with - $idle:.3f}')") % of a core"
