#!/usr/bin/env bash
# Runs the test suite of one build preset through ctest, with the real services the tests
# need: a private redis-server on a free loopback port (TRAFFIC_TEST_REDIS_PORT), stopped
# on exit whatever happens.
#   scripts/run-tests.sh <preset> [extra ctest args…]
set -euo pipefail
preset=${1:?usage: run-tests.sh <preset> [ctest args]}
shift

work=$(mktemp -d "${TMPDIR:-/tmp}/traffic-test.XXXXXX")
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_redis() {
  local port attempt
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 20000))
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
      --logfile "$work/redis.log" &
    redis_pid=$!
    # Ready when it answers PING; gone when the port was taken.
    for _ in $(seq 1 100); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        export TRAFFIC_TEST_REDIS_HOST=127.0.0.1 TRAFFIC_TEST_REDIS_PORT=$port
        return 0
      fi
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
  done
  echo "could not start redis-server on a free port" >&2
  return 1
}

start_redis
echo "redis-server on 127.0.0.1:$TRAFFIC_TEST_REDIS_PORT"
ctest --preset "$preset" -j "$(nproc)" "$@"
