// swift-tools-version: 6.1
// PagedFlex micro-benchmarks (ordo-one/package-benchmark), kept out of the main package so that it
// never builds the benchmark tooling. Run from this folder:
//
//   swift package --scratch-path ../.build-bench benchmark
//
// Benchmark 1.38.1 counts allocations with its own malloc interposer (the MallocInterposer trait),
// so no system package (jemalloc) is needed.
import PackageDescription

let package = Package(
    name: "PagedFlexBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "PagedFlex", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "PagedKVCacheBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PagedKVCache", package: "PagedFlex"),
            ],
            path: "Benchmarks/PagedKVCacheBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
