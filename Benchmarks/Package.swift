// swift-tools-version: 6.1
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
