// swift-tools-version: 6.1
// PagedFlex: a Swift inference engine for decoder-only language models with a paged KV cache and
// FlexAttention-style attention. The map of the targets is docs/ARCHITECTURE.md.
//
// Build for speed with the project's scripts (scripts/build), which pass `-Xcc -march=x86-64-v3`:
// without it, Swift SIMD code on x86-64 falls back to per-lane libcalls for FMA and Float16.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

// Test targets are not optimized, even in the release build the real-model tests need: they call
// into the optimized library targets (and TestSupport, whose float64 references must be fast),
// and optimizing a dozen test modules cost CI's fresh build over three minutes, mostly serial.
let testSettings: [SwiftSetting] = swiftSettings + [.unsafeFlags(["-Onone"], .when(configuration: .release))]

let package = Package(
    name: "PagedFlex",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pagedflex", targets: ["pagedflex"]),
        .library(name: "PagedFlex", targets: ["Engine"]),
        .library(name: "PagedKVCache", targets: ["PagedKVCache"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // The server (OpenAIServer, the only target that imports networking) and its bench client
        // (PlainHTTPClient, on SwiftNIO, which Hummingbird builds anyway). Hummingbird without its
        // swift-configuration trait: nothing here reads configuration through it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // HTTP status values for OpenAIAPI's errors (plain types, no networking; Hummingbird uses it).
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Math on unsafe buffers; the 8-bit integer dot products live in the small C target below.
        .target(name: "CKernels"),
        .target(name: "Kernels", dependencies: ["CKernels"], swiftSettings: swiftSettings),
        // SplitMix64, the one copy of the generator and hash finalizer every target uses.
        .target(name: "SplitMix", swiftSettings: swiftSettings),
        // The one lock (a pthread mutex the thread sanitizer sees; Locked.swift says why).
        .target(name: "Locking", swiftSettings: swiftSettings),
        .target(name: "PagedKVCache", dependencies: ["SplitMix"], swiftSettings: swiftSettings),
        .target(name: "FlexAttention", dependencies: ["PagedKVCache", "Kernels"], swiftSettings: swiftSettings),
        // FlexAttention's benchmark harness (paged vs contiguous, memory bandwidth), outside the library.
        .target(name: "AttentionBench", dependencies: ["FlexAttention", "PagedKVCache", "Kernels", "SplitMix"], swiftSettings: swiftSettings),
        .target(name: "GGUF", swiftSettings: swiftSettings),
        .target(name: "Tokenizers", dependencies: ["Locking"], swiftSettings: swiftSettings),
        .target(name: "Sampling", dependencies: ["SplitMix", "Kernels"], swiftSettings: swiftSettings),
        .target(name: "Llama", dependencies: ["Kernels", "GGUF", "FlexAttention", "PagedKVCache"], swiftSettings: swiftSettings),
        .target(name: "Scheduler", dependencies: ["PagedKVCache"], swiftSettings: swiftSettings),
        .target(
            name: "Engine", dependencies: ["Locking", "Llama", "Tokenizers", "Sampling", "GGUF", "PagedKVCache", "Scheduler", "FlexAttention"],
            swiftSettings: swiftSettings),
        // The OpenAI API's request decoding, without networking: JSON bodies checked field by field
        // into engine requests, errors in OpenAI's shape (fuzzed by Fuzz/FuzzRequest).
        .target(
            name: "OpenAIAPI",
            dependencies: ["Engine", "Sampling", "Tokenizers", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: swiftSettings),
        // The OpenAI-compatible HTTP API on the engine, its Prometheus metrics and the serve bench client.
        .target(
            name: "OpenAIServer",
            dependencies: [
                "OpenAIAPI", "Engine", "Locking", "Tokenizers", "Sampling", "PagedKVCache", "SplitMix",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .target(name: "PaperBench", dependencies: ["Engine", "Llama", "FlexAttention", "PagedKVCache", "Tokenizers", "Sampling", "Kernels", "CKernels"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "pagedflex",
            dependencies: ["Engine", "Locking", "Llama", "GGUF", "Kernels", "FlexAttention", "PagedKVCache", "PaperBench", "OpenAIServer", "AttentionBench", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        // Shared test helpers: a GGUF writer for tiny hermetic models, the naive reference
        // attention and forward pass, comparison helpers, the location of the real model.
        .target(
            name: "TestSupport", dependencies: ["GGUF", "Kernels", "PagedKVCache", "Llama", "FlexAttention", "Tokenizers", "Sampling"],
            path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"], swiftSettings: testSettings),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"], swiftSettings: testSettings),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Engine", "GGUF", "TestSupport"], swiftSettings: testSettings),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"], swiftSettings: testSettings),
        .testTarget(
            name: "PagedKVCacheTests",
            dependencies: ["PagedKVCache", "SplitMix", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: testSettings),
        .testTarget(name: "FlexAttentionTests", dependencies: ["FlexAttention", "AttentionBench", "TestSupport"], swiftSettings: testSettings),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "PagedKVCache"], swiftSettings: testSettings),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport", "Sampling", "PagedKVCache"], swiftSettings: testSettings),
        .testTarget(name: "LlamaTests", dependencies: ["Llama", "Engine", "TestSupport"], swiftSettings: testSettings),
        .testTarget(
            name: "OpenAIServerTests",
            dependencies: [
                "OpenAIServer", "OpenAIAPI", "Engine", "Sampling", "Tokenizers", "TestSupport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: testSettings),
        .testTarget(name: "PaperBenchTests", dependencies: ["PaperBench", "Engine", "Locking", "TestSupport"], swiftSettings: testSettings),
    ],
    swiftLanguageModes: [.v6]
)

// Coverage-guided fuzzers (libFuzzer), only when PAGEDFLEX_FUZZ is set: scripts/fuzz builds them in
// the AddressSanitizer build of scripts/test-asan (same folder, same flags: the unit tests and the
// fuzzers share every compiled module). Each fuzzer is `-parse-as-library` (libFuzzer supplies
// `main`) and linked with `-sanitize=fuzzer`; the modules that read the fuzzers' inputs carry
// libFuzzer's coverage instrumentation (edges and comparisons), the numeric kernels do not (the
// unit tests run through them at full speed). The seed
// corpora and the vocabulary they read live in Fuzz/ (Fuzz/README.md).
if Context.environment["PAGEDFLEX_FUZZ"] != nil {
    let coverage: SwiftSetting = .unsafeFlags(["-sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp"])
    let covered: Set<String> = ["GGUF", "Tokenizers", "Llama", "OpenAIAPI"]
    for target in package.targets where covered.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [coverage]
    }
    let fuzzer: [SwiftSetting] = swiftSettings + [coverage, .unsafeFlags(["-parse-as-library"])]
    let linkFuzzer: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer"])]
    package.targets += [
        .target(name: "FuzzSupport", dependencies: ["GGUF", "Tokenizers"], path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings + [coverage]),
        .executableTarget(name: "FuzzGGUF", dependencies: ["GGUF", "Kernels", "Llama", "FuzzSupport"], path: "Fuzz/FuzzGGUF", swiftSettings: fuzzer, linkerSettings: linkFuzzer),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["Tokenizers", "FuzzSupport"], path: "Fuzz/FuzzTokenizer", swiftSettings: fuzzer, linkerSettings: linkFuzzer),
        .executableTarget(name: "FuzzChatTemplate", dependencies: ["Tokenizers", "FuzzSupport"], path: "Fuzz/FuzzChatTemplate", swiftSettings: fuzzer, linkerSettings: linkFuzzer),
        // The server's request decoding (OpenAIAPI, no networking: Hummingbird and SwiftNIO stay out of the fuzz build).
        .executableTarget(
            name: "FuzzRequest", dependencies: [
                "OpenAIAPI", "Engine", "GGUF", "Tokenizers", "Sampling", "FuzzSupport", .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Fuzz/FuzzRequest", swiftSettings: fuzzer, linkerSettings: linkFuzzer),
    ]
}

// The sanitizer runs (scripts/test-asan, scripts/test-tsan, scripts/fuzz) set PAGEDFLEX_WITHOUT_SERVER:
// they check the engine's own code, and a build of Hummingbird and SwiftNIO under each sanitizer
// would add minutes to every CI run. The server is tested in release by scripts/test and
// scripts/test-e2e; its request decoding (OpenAIAPI, no networking) stays, for the `request` fuzzer.
if Context.environment["PAGEDFLEX_WITHOUT_SERVER"] != nil {
    let serverTargets: Set<String> = ["OpenAIServer", "OpenAIServerTests", "pagedflex"]
    package.targets.removeAll { serverTargets.contains($0.name) }
    package.products.removeAll { $0.name == "pagedflex" }
}

// PAGEDFLEX_TEST_TARGETS=A,B,... keeps only those test targets (scripts/test-tsan builds the
// concurrent code's tests alone: compiling the others under the thread sanitizer is time for nothing).
if let kept = Context.environment["PAGEDFLEX_TEST_TARGETS"] {
    let names = Set(kept.split(separator: ",").map(String.init))
    package.targets.removeAll { $0.type == .test && !names.contains($0.name) }
}
