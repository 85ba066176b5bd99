#!/usr/bin/env bash
# Runs the micro-benchmarks of a release build; the figures go into docs/benchmarks.md.
#   bench/run.sh build/release
set -euo pipefail
build=${1:-build/release}
"$build/bench/link_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
"$build/bench/context_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
"$build/bench/rules_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
"$build/bench/recipe_bench"
