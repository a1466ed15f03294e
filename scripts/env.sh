# Shared settings of the project's scripts (sourced, not run).
# Release builds for x86-64 target x86-64-v3 (AVX2, FMA, F16C): without it, Swift's SIMD code
# falls back to a library call per lane for fused multiply-adds and Float16 conversions.
PAGEDFLEX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PAGEDFLEX_BUILD_FLAGS=(-c release)
if [ "$(uname -m)" = "x86_64" ]; then
  PAGEDFLEX_BUILD_FLAGS+=(-Xcc -march=x86-64-v3)
fi
export PAGEDFLEX_ROOT
