# Shared settings of the project's scripts (sourced, not run).
# Release builds for x86-64 target x86-64-v3 (AVX2, FMA, F16C): without it, Swift's SIMD code
# falls back to a library call per lane for fused multiply-adds and Float16 conversions.
PAGEDFLEX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PAGEDFLEX_BUILD_FLAGS=(-c release)
if [ "$(uname -m)" = "x86_64" ]; then
  PAGEDFLEX_BUILD_FLAGS+=(-Xcc -march=x86-64-v3)
fi
export PAGEDFLEX_ROOT

# The AddressSanitizer build, shared by scripts/test-asan (the unit tests) and scripts/fuzz (the
# fuzzers): one optimized build with ASan (Swift and C) and UBSan (C; any report fatal), in one
# scratch path (.build-asan, or $ASAN_SCRATCH_PATH). Both scripts set the same manifest switches
# (PAGEDFLEX_FUZZ: the fuzz targets exist; PAGEDFLEX_WITHOUT_SERVER: no Hummingbird or SwiftNIO),
# so whichever runs second reuses every module the first compiled.
pagedflex_asan_build() {
  export PAGEDFLEX_FUZZ=1 PAGEDFLEX_WITHOUT_SERVER=1
  PAGEDFLEX_ASAN_FLAGS=("${PAGEDFLEX_BUILD_FLAGS[@]}" -Xswiftc -enable-testing
    --scratch-path "${ASAN_SCRATCH_PATH:-.build-asan}" --sanitize=address
    -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined)
}
