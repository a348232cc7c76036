#!/usr/bin/env bash
# The whole test suite: build, run ctest; then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exit non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTOCSIN_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
# Leak checking applies to our process; libcurl/libpq keep some global state on purpose.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j"$jobs")
