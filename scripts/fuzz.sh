#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 60) and reports, per target, how
# many inputs libFuzzer executed and how many crashes it found. Exits non-zero on any crash
# or failed run.
#
#   bash scripts/fuzz.sh [SECONDS [LIBFUZZER_FLAG...]]
#
# Extra flags go to every target: `bash scripts/fuzz.sh 3600 -runs=10500000` stops each
# target after 10.5 million executions or an hour, whichever comes first. FUZZ_TARGETS
# picks targets (default: all of `cargo fuzz list`), such as
#   FUZZ_TARGETS="tracker wire_json" bash scripts/fuzz.sh 60
# A target with a libFuzzer dictionary `fuzz/dicts/<target>.dict` is run with it.
#
# Stable Rust is enough: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its nightly flags (address
# sanitizer, comparison tracing). The committed corpus `fuzz/corpus/<target>/` is only read.
# What a run discovers goes to `fuzz/target/corpus/<target>/` and libFuzzer's output to
# `fuzz/target/fuzz-logs/<target>.log` (both ignored by git), crashes to
# `fuzz/artifacts/<target>/`. To add discoveries to the committed corpus, merge by coverage
# (docs/VERIFICATION.md says how the current corpus was made):
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/corpus/TARGET fuzz/target/corpus/TARGET -- -merge=1
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    echo "usage: $0 [SECONDS [LIBFUZZER_FLAG...]]  (SECONDS per target, a positive whole number)" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
if [[ -z $targets ]]; then
    echo "no fuzz targets found" >&2
    exit 1
fi

# libFuzzer's full output, per target, for a look after the run (ignored by git).
logs=fuzz/target/fuzz-logs
mkdir -p "$logs"

# Build every target first, so the time budget below is spent fuzzing, not compiling.
echo "==> building the fuzz targets"
if [[ -n ${FUZZ_TARGETS:-} ]]; then
    for target in $targets; do
        cargo fuzz build "$target"
    done
else
    cargo fuzz build
fi

failed=0
report=""
for target in $targets; do
    work="fuzz/target/corpus/${target}"
    artifacts="fuzz/artifacts/${target}"
    mkdir -p "$work" "$artifacts"
    log="${logs}/${target}.log"
    marker="${logs}/${target}.started"
    touch "$marker"
    echo "==> fuzzing ${target} for ${seconds} s"
    started=$SECONDS
    dict=()
    if [[ -f fuzz/dicts/${target}.dict ]]; then
        dict=(-dict="fuzz/dicts/${target}.dict")
    fi
    status=0
    cargo fuzz run "$target" "$work" "fuzz/corpus/${target}" -- \
        -max_total_time="$seconds" -print_final_stats=1 "${dict[@]}" "$@" >"$log" 2>&1 || status=$?
    took=$((SECONDS - started))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    runs=${runs:-?}
    crashes=$(find "$artifacts" -type f -newer "$marker" | wc -l)
    rate="?"
    if [[ $runs =~ ^[0-9]+$ ]] && ((took > 0)); then
        rate=$((runs / took))
    fi
    line="${target}: ${runs} executions in ${took} s (~${rate}/s), ${crashes} crash(es)"
    if ((status != 0)); then
        failed=1
        line+=", FAILED (exit ${status})"
        echo "--- last lines of the ${target} log:" >&2
        tail -n 40 "$log" >&2
        if ((crashes > 0)); then
            echo "--- new artifacts in ${artifacts}:" >&2
            find "$artifacts" -type f -newer "$marker" >&2
        fi
    elif ((crashes > 0)); then
        failed=1
        line+=", FAILED"
    fi
    echo "    ${line}"
    report+="${line}"$'\n'
done

echo "==> fuzz summary (${seconds} s per target)"
printf '%s' "$report"
exit "$failed"
