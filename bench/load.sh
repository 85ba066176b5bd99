#!/usr/bin/env bash
# Load benchmark (make bench-load): wrk against trafficd's /pl and against nginx answering a
# bare `return 302`, each server pinned to CPU 0 with one thread/worker, wrk pinned to CPU 1.
# Runs are interleaved and repeated; the medians are printed as a Markdown table.
#
# At these rates wrk saturates its own core, so requests/s alone flatter the slower server:
# each server's CPU time is read from /proc/<pid>/stat before and after a run, giving
# server CPU microseconds per request — the figure that matters (for servers with sinks, read
# once the sinks have caught up, so their deferred work counts). LOAD_SINK_OPTIONS="#compression=zstd"
# (say) sets the file sink's options of the pipeline run.
# A fourth server adds live counters shared through a private redis-server (docs/shared-state.md).
#
#   bench/load.sh [build-dir] [rounds] [seconds] [connections]
set -euo pipefail
build=${1:-build/release}
rounds=${2:-3}
seconds=${3:-10}
connections=${4:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# trafficd: the sample recipe, the MaxMind test databases, one thread.
key=0123456789abcdef0123456789abcdef
link=$(ENCRIPTION_KEY=$key "$build/apps/trafficctl/trafficctl" encode --offer 100 --campaign 10)
# One trafficd pinned to CPU 0 with one request thread; extra flags after the port.
start_trafficd() {
  local port=$1
  shift
  ENCRIPTION_KEY=$key URL_HASH_SECRET=urlsecret TRUST_PROXY=loopback LOG_LEVEL=warn \
    taskset -c 0 "$build/apps/trafficd/trafficd" --host 127.0.0.1 --port "$port" --threads 1 \
    --offers-recipe-path "$root/tests/data/recipes/offersRecipe.json.gz" \
    --campaigns-recipe-path "$root/tests/data/recipes/campaignsRecipe.json.gz" \
    --maxmind-path "$root/tests/data/geoip/test-data/GeoIP2-City-Test.mmdb" \
    --maxmind-path-isp "$root/tests/data/geoip/test-data/GeoIP2-ISP-Test.mmdb" "$@" &
}
td_port=$(free_port)
start_trafficd "$td_port"
td_pid=$!

# The same with the click pipeline on: every click spooled, the file sink writing gzip'd
# NDJSON. Its sink thread is on CPU 0 too, so its CPU time is in the figure. Files close a
# second after they open (under load they close by size first), so the last one is written
# and counted before the CPU time is read.
sink_options="#rotate_seconds=1${LOAD_SINK_OPTIONS:+&${LOAD_SINK_OPTIONS#\#}}"
tf_port=$(free_port)
start_trafficd "$tf_port" --spool-dir "$work/spool" --sinks "file://$work/clicks$sink_options"
tf_pid=$!

# The same again with the live counters shared through Redis (docs/shared-state.md): a
# private redis-server on CPU 1 (beside wrk: Redis's own CPU is not in trafficd's figure;
# the redis-counters thread is, on CPU 0).
rd_port=$(free_port)
taskset -c 1 redis-server --port "$rd_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
tr_port=$(free_port)
start_trafficd "$tr_port" --spool-dir "$work/spool-redis" --sinks "file://$work/clicks-redis$sink_options" \
  --redis-host 127.0.0.1 --redis-port "$rd_port"
tr_pid=$!

# nginx: configuration generated here, no master process, one worker, no access log.
ng_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
master_process off;
daemon off;
worker_processes 1;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$ng_port;
    location / { return 302 "https://lp.example.com/path?x=1&offer_id=100&campaign_id=10&lid=4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10&ap=2&src=7"; }
  }
}
CONF
taskset -c 0 nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
ng_pid=$!
wait_port "$td_port" && wait_port "$ng_port" && wait_port "$tf_port" && wait_port "$tr_port"
curl -sf -o /dev/null -w '' "http://127.0.0.1:$td_port/ready"
curl -sf -o /dev/null -w '' "http://127.0.0.1:$tf_port/ready"
curl -sf -o /dev/null -w '' "http://127.0.0.1:$tr_port/ready"

td_url="http://127.0.0.1:$td_port/pl?o=$link&subid=bench"
tf_url="http://127.0.0.1:$tf_port/pl?o=$link&subid=bench"
ng_url="http://127.0.0.1:$ng_port/pl?o=$link&subid=bench"
tr_url="http://127.0.0.1:$tr_port/pl?o=$link&subid=bench"
ev_url="http://127.0.0.1:$tf_port/event"

# Waits (up to 60 s) until every sink of the trafficd on port $1 has caught up and holds
# nothing (the file sink's open file written): the sink threads run at niceness 10 and do
# much of their work after wrk stops, and that work is part of a click's cost.
wait_sinks() {
  local pending
  for _ in $(seq 1 600); do
    pending=$(curl -sf "http://127.0.0.1:$1/metrics" | awk '/^trafficd_sink_(pending|held)_bytes/ {s += $2} END {print s + 0}')
    [ "$pending" = 0 ] && return 0
    sleep 0.1
  done
  echo "sinks of port $1 still behind after 60 s" >&2
}

# A site event as the snippet sends it (sendBeacon's text/plain), for the POST /event row:
# the same server as the pipeline row, so its figure compares with a recorded click's.
cat > "$work/event.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.body = '{"type":"adImpression","website":"news.example","page":"/story","ad_id":"a-7","user_id":"u-1"}'
LUA

# One run: prints "requests cpu_us_per_request rps p50_us p99_us". With a port, the CPU
# time is read once that trafficd's sinks have caught up; a fourth argument is a wrk script.
run() {
  local pid=$1 url=$2 port=${3:-} script=${4:-} before after out requests
  [ -n "$port" ] && wait_sinks "$port"
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency ${script:+-s "$script"} -H 'X-Forwarded-For: 216.160.83.56' \
    -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0 Safari/537.36' \
    "$url")
  [ -n "$port" ] && wait_sinks "$port"
  after=$(cpu_ticks "$pid")
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  python3 - "$requests" "$before" "$after" "$ticks" "$seconds" <<PY "$out"
import re, sys
requests, before, after, ticks, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
out = sys.argv[6]
def us(label):
    m = re.search(r"\s%s\s+([\d.]+)(us|ms|s)" % label, out)
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
cpu_us = (after - before) / ticks * 1e6
print(requests, round(cpu_us / requests, 2), round(requests / seconds), us("50%"), us("99%"))
PY
}

# Warm-up (caches, connection setup), then interleaved rounds.
taskset -c 1 wrk -t1 -c"$connections" -d2s "$td_url" >/dev/null
taskset -c 1 wrk -t1 -c"$connections" -d2s "$ng_url" >/dev/null
taskset -c 1 wrk -t1 -c"$connections" -d2s "$tf_url" >/dev/null
taskset -c 1 wrk -t1 -c"$connections" -d2s "$tr_url" >/dev/null
: > "$work/trafficd.txt"
: > "$work/nginx.txt"
: > "$work/pipeline.txt"
: > "$work/redis.txt"
: > "$work/event.txt"
for round in $(seq 1 "$rounds"); do
  run "$td_pid" "$td_url" >> "$work/trafficd.txt"
  run "$ng_pid" "$ng_url" >> "$work/nginx.txt"
  run "$tf_pid" "$tf_url" "$tf_port" >> "$work/pipeline.txt"
  run "$tr_pid" "$tr_url" "$tr_port" >> "$work/redis.txt"
  run "$tf_pid" "$ev_url" "$tf_port" "$work/event.lua" >> "$work/event.txt"
  echo "round $round: trafficd $(tail -1 "$work/trafficd.txt") | nginx $(tail -1 "$work/nginx.txt")" \
    "| trafficd+file sink $(tail -1 "$work/pipeline.txt") | +redis counters $(tail -1 "$work/redis.txt")" \
    "| POST /event $(tail -1 "$work/event.txt")" >&2
done

python3 - "$work/trafficd.txt" "$work/nginx.txt" "$connections" "$seconds" "$rounds" "$work/pipeline.txt" \
  "$work/redis.txt" "$work/event.txt" <<'PY'
import os, statistics, sys
def rows(path):
    return [list(map(float, line.split())) for line in open(path) if line.strip()]
td_rows, ng_rows, tf_rows, tr_rows = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[6]), rows(sys.argv[7])
tr = [statistics.median(col) for col in zip(*tr_rows)]
td = [statistics.median(col) for col in zip(*td_rows)]
ng = [statistics.median(col) for col in zip(*ng_rows)]
tf = [statistics.median(col) for col in zip(*tf_rows)]
ev_rows = rows(sys.argv[8])
ev = [statistics.median(col) for col in zip(*ev_rows)]
# Each round's pair ran back to back, so its ratio cancels slow drifts of the VM's speed
# (other tenants); the median of those is the steadier figure.
ratios = sorted(t[1] / n[1] for t, n in zip(td_rows, ng_rows))
print(f"wrk -t1 -c{sys.argv[3]} -d{sys.argv[4]}s, servers on CPU 0 (1 thread/worker), wrk on CPU 1; medians of {sys.argv[5]} interleaved rounds\n")
print("| server | CPU µs / request | requests/s | p50 | p99 |")
print("|---|---|---|---|---|")
print(f"| trafficd `/pl` (decode, geo, device, rules, URL, hash) | {td[1]:.2f} | {td[2]:,.0f} | {td[3]:.0f} µs | {td[4]:.0f} µs |")
sink_options = os.environ.get("LOAD_SINK_OPTIONS", "") or "gzip'd NDJSON"
print(f"| trafficd `/pl` + spool + file sink ({sink_options}) | {tf[1]:.2f} | {tf[2]:,.0f} | {tf[3]:.0f} µs | {tf[4]:.0f} µs |")
print(f"| trafficd `/pl` + spool + file sink + counters and unique visits in Redis | {tr[1]:.2f} | {tr[2]:,.0f} | {tr[3]:.0f} µs | {tr[4]:.0f} µs |")
print(f"| trafficd `POST /event`, one event (geo, device, visitor cookie) + spool + file sink | {ev[1]:.2f} | {ev[2]:,.0f} | {ev[3]:.0f} µs | {ev[4]:.0f} µs |")
print(f"| nginx `return 302` | {ng[1]:.2f} | {ng[2]:,.0f} | {ng[3]:.0f} µs | {ng[4]:.0f} µs |")
print(f"\nratio trafficd / nginx CPU per request: {td[1] / ng[1]:.2f} (of the medians); "
      f"per round {', '.join(f'{r:.2f}' for r in ratios)}, median {statistics.median(ratios):.2f}")
pipeline = sorted(f[1] / t[1] for f, t in zip(tf_rows, td_rows))
print(f"with the click pipeline / without: {tf[1] / td[1]:.2f} (of the medians); "
      f"per round {', '.join(f'{r:.2f}' for r in pipeline)}, median {statistics.median(pipeline):.2f}")
event = sorted(e[1] / f[1] for e, f in zip(ev_rows, tf_rows))
print(f"POST /event (one event) / a recorded /pl click: {ev[1] / tf[1]:.2f} (of the medians); "
      f"per round {', '.join(f'{r:.2f}' for r in event)}, median {statistics.median(event):.2f}")
shared = sorted(r[1] / f[1] for r, f in zip(tr_rows, tf_rows))
print(f"with the shared state in Redis / in process (both with the pipeline): {tr[1] / tf[1]:.2f} (of the medians); "
      f"per round {', '.join(f'{r:.2f}' for r in shared)}, median {statistics.median(shared):.2f}")
PY
