#!/usr/bin/env bash
# Runs one browser test (ctest: browser.*): installs npm's puppeteer-core at the version of
# package-lock.json into <work>, once, and runs the test from there with Debian's chromium.
#   run.sh <test.mjs> <work dir> <trafficd> <tests/data>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
test=$1 work=$2
export TRAFFICD=$3 TEST_DATA_DIR=$4
command -v node >/dev/null || { echo "node is missing: make deps installs it" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "chromium is missing: make deps installs it" >&2; exit 1; }
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [ ! -d "$work/node_modules/puppeteer-core" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
cp "$here/$test" "$here/support.mjs" "$work/"  # beside node_modules: ES modules resolve from the script's place
exec node "$work/$test"
