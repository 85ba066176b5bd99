# The two commands a newcomer needs: `make run` and `make test`. Both install missing
# Debian packages first, so they work on a fresh Debian 12 machine.
PRESET ?= dev
JOBS ?= $(shell nproc)
DEMO_KEY := 0123456789abcdef0123456789abcdef

.PHONY: all deps configure build test test-asan test-tsan chaos run bench bench-load soak fuzz format tidy clean screenshots

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

test: build
	@scripts/install-deps.sh test
	@scripts/run-tests.sh $(PRESET)

# Unit tests (the uap-core conformance files included: ~7 s under ASan since devices are
# prefiltered) and fuzz-corpus replay under AddressSanitizer + UBSan.
test-asan:
	@$(MAKE) --no-print-directory build PRESET=asan
	@scripts/install-deps.sh test
	@scripts/run-tests.sh asan

# The fault battery alone (docs/reliability.md; also part of `make test`): trafficd under
# load while Redis, the collector, S3, the disk and descriptors fail; prints each case's
# figures ("CHAOS …" lines). Mounting its small disk needs root.
chaos: build
	@build/$(PRESET)/tests/chaos_tests

# The concurrent parts under ThreadSanitizer.
test-tsan:
	@$(MAKE) --no-print-directory build PRESET=tsan
	@scripts/install-deps.sh test
	@scripts/run-tests.sh tsan -R 'Store|SnapshotCache|GeoReload|DeviceDetector.Concurrent|InMemoryCounters|Trafficd|SpoolTest.Concurrent|EmitterTest|HttpSink|RedisSink|UniqueVisits|RedisCounters|RedisLidStore|RecordUpdates|RecipeSync|Analytics|Fleet'

# trafficd on port 5000 with the demo recipe (examples/demo) and MaxMind's test databases;
# clicks are spooled in var/spool and written by the file sink to var/clicks (gzip'd NDJSON).
# Prints a demo link first; Ctrl-C stops it (SIGINT: a clean shutdown).
DEMO_PORT ?= 5000
run:
	@$(MAKE) --no-print-directory configure PRESET=release
	@cmake --build --preset release -j $(JOBS) --target trafficd trafficctl  # the demo needs only these
	@link=$$(ENCRIPTION_KEY=$(DEMO_KEY) build/release/apps/trafficctl/trafficctl encode --offer 100 --campaign 10); \
	  echo "== demo click (offer 100, campaign 10): =="; \
	  echo "   curl -i 'http://127.0.0.1:$(DEMO_PORT)/pl?o=$$link&subid=demo' -H 'X-Forwarded-For: 216.160.83.56'"; \
	  echo "== why it goes where it goes: =="; \
	  echo "   curl 'http://127.0.0.1:$(DEMO_PORT)/admin/explain?o=$$link&ip=216.160.83.56' -H 'Authorization: Bearer demo-admin-token'"; \
	  echo "== a site event, as the /t.js snippet sends it (docs/events.md): =="; \
	  echo "   curl -i http://127.0.0.1:$(DEMO_PORT)/event -H 'Content-Type: text/plain' -d '{\"type\":\"pageView\",\"website\":\"demo.example\",\"page\":\"/\"}'"; \
	  echo "== clicks are written to var/clicks/*.ndjson.gz (files close every minute and at exit) =="; \
	  echo "== starting trafficd on port $(DEMO_PORT) (Ctrl-C stops it) =="
	@ENCRIPTION_KEY=$(DEMO_KEY) URL_HASH_SECRET=demo-secret ADMIN_TOKEN=demo-admin-token TRUST_PROXY=loopback \
	  exec build/release/apps/trafficd/trafficd --port $(DEMO_PORT) \
	  --offers-recipe-path examples/demo/offersRecipe.json.gz --campaigns-recipe-path examples/demo/campaignsRecipe.json.gz \
	  --maxmind-path tests/data/geoip/test-data/GeoIP2-City-Test.mmdb \
	  --maxmind-path-isp tests/data/geoip/test-data/GeoIP2-ISP-Test.mmdb \
	  --spool-dir var/spool --sinks 'file://var/clicks#rotate_seconds=60'

# docs/img/status.png, the fleet dashboard with two instances under load (docs/fleet.md):
# the browser test of /status, saving its screenshot.
screenshots: build
	@scripts/install-deps.sh test
	@SCREENSHOT=$(CURDIR)/docs/img/status.png tests/browser/run.sh status_test.mjs build/$(PRESET)/tests/browser \
	  build/$(PRESET)/apps/trafficd/trafficd tests/data

bench:
	@$(MAKE) --no-print-directory build PRESET=release
	@bench/run.sh build/release

# wrk against trafficd and nginx (docs/benchmarks.md); installs wrk and nginx-light if missing.
bench-load:
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory build PRESET=release
	@bench/load.sh build/release $(LOAD_ROUNDS) $(LOAD_SECONDS) $(LOAD_CONNECTIONS)
LOAD_ROUNDS ?= 3
LOAD_SECONDS ?= 10
LOAD_CONNECTIONS ?= 64

# The soak (docs/benchmarks.md): trafficd with its pipeline at half its measured capacity
# for SOAK_MINUTES under random clicks; prints its resident memory minute by minute.
SOAK_MINUTES ?= 30
soak:
	@scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory build PRESET=release
	@bench/soak.sh build/release $(SOAK_MINUTES)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

tidy: configure
	@git ls-files 'libtraffic/*.cpp' 'apps/*.cpp' | xargs -P$$(nproc) -n4 clang-tidy -p build/$(PRESET) --quiet 2>&1 | \
	  { grep -v ' warnings\? generated\.$$' || true; }

clean:
	rm -rf build

# Fuzz each target for FUZZ_SECONDS (clang, ASan+UBSan) and merge inputs that add coverage
# into the committed corpora (commit them if they grew).
FUZZ_SECONDS ?= 60
fuzz:
	@$(MAKE) --no-print-directory build PRESET=fuzz
	@for t in link_decode recipe_parse client_ip user_agent redirect_url postback http_head spool_segment; do \
	  work=$$(mktemp -d); cp tests/fuzz/corpus/$$t/* $$work/; \
	  build/fuzz/tests/fuzz/$${t}_fuzz $$work -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=4096 || exit 1; \
	  build/fuzz/tests/fuzz/$${t}_fuzz -merge=1 -rss_limit_mb=4096 tests/fuzz/corpus/$$t $$work; rm -rf $$work; \
	done
