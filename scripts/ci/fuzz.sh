#!/usr/bin/env bash
# Each cargo-fuzz target for a short bounded time (FUZZ_SECONDS each, default
# 30), after one build both targets share (fuzz/target). Stable toolchain:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its flags. Prints libFuzzer's final
# stats (executions) per target; a crash fails the script and leaves the input
# in fuzz/artifacts/<target>/.
#
# The ordinary test run already replays the seeds and every kept crash input
# through the same entry points (tests/tests/suite/fuzz_replay.rs and
# hostile_corpus.rs), so this script is the search for new inputs, not the
# regression check. Its cost is mostly the one-off install and build.
set -euo pipefail
cd "$(dirname "$0")/../../fuzz"
seconds="${FUZZ_SECONDS:-30}"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo fuzz build -s none
mkdir -p corpus/parse_message corpus/json_bodies
cargo fuzz run -s none parse_message -- -max_total_time="$seconds" -print_final_stats=1 \
  corpus/parse_message ../tests/fixtures/hostile ../tests/fixtures/eml
cargo fuzz run -s none json_bodies -- -max_total_time="$seconds" -print_final_stats=1 \
  corpus/json_bodies seeds/json_bodies ../tests/fixtures/fuzz/json_bodies
