#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for a bounded time each, starting from the corpora kept in
# fuzz/corpus/<target>; new inputs libFuzzer finds go to target/fuzz-corpus/<target> (not into
# the repo), crashes to fuzz/artifacts/<target>.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 20 s, every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without them it says
# so and exits 0, so CI without nightly skips it visibly. For a longer run of one target:
#   cd fuzz && cargo +nightly fuzz run http_session -- -max_total_time=3600
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped: no nightly toolchain (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"
  exit 0
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
cd fuzz
cargo +nightly fuzz build -O
status=0
for target in "${targets[@]}"; do
  work="../target/fuzz-corpus/$target"
  mkdir -p "$work" "corpus/$target"
  echo "fuzz: $target for ${seconds}s"
  if ! cargo +nightly fuzz run -O "$target" "$work" "corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 2>"../target/fuzz-$target.log"; then
    echo "fuzz: $target FAILED (see target/fuzz-$target.log and fuzz/artifacts/$target)"
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "../target/fuzz-$target.log" | tail -2 || true
done
exit "$status"
