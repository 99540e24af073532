#!/usr/bin/env bash
# Runs every cargo-fuzz target of openpalm for a bounded time, on stable Rust.
#
#   .ci/fuzz.sh [SECONDS_PER_TARGET]      (default 60)
#
# Installs cargo-fuzz if missing, builds the targets, then runs each one for SECONDS_PER_TARGET
# seconds starting from its committed seeds (fuzz/seeds/<target>/) and the golden files
# (testdata/templates/v1/). New interesting inputs go to fuzz/corpus/<target>/ (git-ignored).
# Exits non-zero on a crash; libFuzzer then leaves the input in fuzz/artifacts/<target>/ —
# fix the bug and commit that input to fuzz/seeds/<target>/ as a regression seed.
#
# Stable toolchain: `-s none` (no sanitizer) is what makes cargo-fuzz work without nightly.
# Every other flag cargo-fuzz passes (-Cpasses=sancov-module, -Cllvm-args=..., --cfg fuzzing)
# is stable; only the sanitizers (-Zsanitizer=address, the default) need nightly. The decoder
# has no unsafe code, so AddressSanitizer would add little; libFuzzer still catches panics,
# aborts, timeouts and out-of-memory.
set -euo pipefail

secs="${1:-60}"
case "$secs" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/../fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

targets=(template_decode template_roundtrip)

cargo fuzz build -s none # all targets, release mode with debug assertions off (the default)

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "fuzzing $t for ${secs}s" >&2
    # First corpus directory receives new inputs; the others are read-only seeds.
    cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" ../testdata/templates/v1 -- \
        -max_total_time="$secs" -max_len=32768 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1
done
echo "fuzzing finished without crashes" >&2
