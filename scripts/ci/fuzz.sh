#!/usr/bin/env bash
# CI: each cargo-fuzz target for a short bounded time (FUZZ_SECONDS, default
# 60). Stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its flags.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"
seconds="${FUZZ_SECONDS:-60}"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo fuzz build -s none
mkdir -p corpus/parse_message corpus/json_bodies seeds/json_bodies
cargo fuzz run -s none parse_message -- -max_total_time="$seconds" \
  corpus/parse_message ../tests/fixtures/hostile ../tests/fixtures/eml
cargo fuzz run -s none json_bodies -- -max_total_time="$seconds" corpus/json_bodies seeds/json_bodies
