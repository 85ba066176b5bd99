#!/usr/bin/env bash
# Soak benchmark (make soak; docs/benchmarks.md): trafficd with the click pipeline (file
# sink, in-process lid store, unique visits) under random clicks — random links of the
# sample recipe, subids, user agents and client addresses — first at full speed for 10 s to
# measure its capacity, then for SOAK_MINUTES at half of it. Its resident memory is sampled
# every 10 s; the table printed at the end shows it each minute, to see that it is flat
# once the bounded stores and caches have filled (the warm-up).
#
#   bench/soak.sh [build-dir] [minutes]
set -euo pipefail
build=${1:-build/release}
minutes=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
rss_mb() { awk -v page="$(getconf PAGESIZE)" '{printf "%.0f", $2 * page / 1048576}' "/proc/$1/statm"; }

cases="$root/tests/data/recipes/cases.json"
key=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['encryption_key'])" "$cases")
secret=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['url_hash_secret'])" "$cases")
# The links of every case that redirects, as a Lua table.
links=$(python3 -c "
import json, sys
cases = json.load(open(sys.argv[1]))['cases']
print(', '.join(sorted({json.dumps(c['o']) for c in cases if c['expect'].get('status') == 302})))" "$cases")

port=$(free_port)
ENCRIPTION_KEY=$key URL_HASH_SECRET=$secret TRUST_PROXY=loopback LOG_LEVEL=warn GATEWAY_API_SECRET=soak \
  "$build/apps/trafficd/trafficd" --host 127.0.0.1 --port "$port" \
  --offers-recipe-path "$root/tests/data/recipes/offersRecipe.json.gz" \
  --campaigns-recipe-path "$root/tests/data/recipes/campaignsRecipe.json.gz" \
  --maxmind-path "$root/tests/data/geoip/test-data/GeoIP2-City-Test.mmdb" \
  --maxmind-path-isp "$root/tests/data/geoip/test-data/GeoIP2-ISP-Test.mmdb" \
  --spool-dir "$work/spool" --sinks "file://$work/clicks#rotate_seconds=60" >"$work/trafficd.log" 2>&1 &
pid=$!
wait_port "$port"
curl -sf -o /dev/null "http://127.0.0.1:$port/ready"

# Random clicks: one of the links, a random subid, one of a few real agents with a random
# build number (tens of thousands of distinct agents: the device cache fills and turns
# over), a random client address (the unique-visit keys fill their bound).
script() {
  cat <<LUA
local links = { $links }
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.",
  "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.",
}
math.randomseed(os.time())
request = function()
  local path = "/pl?o=" .. links[math.random(#links)] .. "&subid=s" .. math.random(1, 1000000000)
  local ip = math.random(1, 223) .. "." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", path, { ["X-Forwarded-For"] = ip, ["User-Agent"] = agents[math.random(#agents)] .. math.random(0, 99999) })
end
LUA
  if [ -n "${1:-}" ]; then echo "delay = function() return $1 end"; fi
}

# Capacity: as fast as it goes for 10 s.
script >"$work/capacity.lua"
capacity=$(wrk -t1 -c64 -d10s -s "$work/capacity.lua" "http://127.0.0.1:$port" | awk '/^Requests\/sec/ {printf "%.0f", $2}')
# Half of it: each connection waits 10 ms between requests.
rate=$((capacity / 2))
connections=$(((rate * 10 + 999) / 1000))
script 10 >"$work/soak.lua"
echo "capacity $capacity clicks/s; soaking at ~$rate clicks/s ($connections connections, 10 ms apart) for $minutes min" >&2

rss_start=$(rss_mb "$pid")
(
  for _ in $(seq 1 $((minutes * 6))); do
    sleep 10
    rss_mb "$pid" >>"$work/rss"
    echo >>"$work/rss"
  done
) &
sampler=$!
wrk -t1 -c"$connections" -d"${minutes}m" --latency -s "$work/soak.lua" "http://127.0.0.1:$port" >"$work/wrk.out"
wait "$sampler" || true
kill -0 "$pid"  # still up

answered=$(awk '/requests in/ {print $1}' "$work/wrk.out")
rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.out")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
errors=$(awk '/Socket errors/ {print}' "$work/wrk.out")
metrics=$(curl -sf "http://127.0.0.1:$port/metrics")
lag=$(echo "$metrics" | awk '/^trafficd_sink_pending_bytes/ {s += $2} END {print s + 0}')
echo
echo "| minute | RSS (MB) |"
echo "|---|---|"
echo "| 0 | $rss_start |"
awk 'NF {n++; if (n % 6 == 0) printf "| %d | %s |\n", n / 6, $1}' "$work/rss"
echo
echo "capacity $capacity clicks/s; soak: $answered requests in $minutes min, $rps/s, p99 $p99, sink lag at the end $lag bytes${errors:+; $errors}"
kill -TERM "$pid"
wait "$pid"
echo "trafficd stopped cleanly (exit 0)"
