#!/usr/bin/env bash
# Installs the Debian packages the build, tests and benchmarks need — only those missing,
# so a second run costs a dpkg query and nothing else.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev pkg-config git
  libboost1.81-dev libboost-json1.81-dev libssl-dev zlib1g-dev libzstd-dev libisal-dev libxxhash-dev libcli11-dev
  libhiredis-dev libmaxminddb-dev libcurl4-openssl-dev libfmt-dev libspdlog-dev
  uap-core libyaml-cpp-dev libre2-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
)
# `install-deps.sh test`: also what only the tests use — the browser tests drive Debian's
# chromium with npm's puppeteer-core: Node.js and npm, from Debian unless the machine
# already has them (a newer Node.js from elsewhere is kept). `make run` never needs them.
if [ "${1:-}" = test ]; then
  packages+=(chromium)
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
# `install-deps.sh bench`: also the load benchmark's tools. nginx-light's package starts a
# system nginx on port 80; the benchmark runs its own, so that one is stopped.
if [ "${1:-}" = bench ]; then
  packages+=(wrk nginx-light)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
  $sudo service nginx stop >/dev/null 2>&1 || $sudo pkill -x nginx || true
fi
