import ArgumentParser
import Engine
import Foundation
import Kernels
import PagedKVCache

/// The engine flags every model-running command shares.
struct EngineOptions: ParsableArguments {
    @Option(help: "The GGUF model file, or a model's short name: smollm2 (the default), gemma3.")
    var model: String = defaultModelPath

    /// The model file `--model` names.
    var modelPath: String { resolveModelPath(model) }

    @Option(help: "Where keys and values live: paged, contiguous (one context-sized buffer per sequence) or none (recompute every step).")
    var kv: KVMode = .paged

    @Option(help: "Tokens per KV page (a power of two, paged mode).")
    var pageSize: Int = 16

    @Option(help: "KV element type: f32, f16, or int8 (a byte per value and a float scale per row: 27% of f32's bytes at head size 64, 25.4% at 256).")
    var kvDtype: KVElementType = .f32

    @Option(help: "KV memory budget: bytes (512MiB, 2GB) or tokens (32768tokens).")
    var kvMemory: String = "32768tokens"

    @Option(help: "Tokens computed per step at most (decodes plus prompt chunks).")
    var maxBatchTokens: Int = 512

    @Flag(help: "Turn the prefix cache off.")
    var noPrefixCache = false

    @Flag(help: "Keep the sliding-window layers' KV pages for the whole sequence (paged mode; the default gives back those no future query can see).")
    var keepWindowPages = false

    @Option(help: "Activations into the quantized matrix products: f32 (exact, default) or q8 (8-bit, faster, as llama.cpp).")
    var activations: ActivationPrecision = .f32

    @Flag(help: "Compute every logit of greedy and top-k steps (by default only the output rows a 5-bit shadow of the matrix cannot rule out as the argmax, or as one of the k largest: the same tokens).")
    var noArgmaxShadow = false

    @Option(help: "Prompt tokens per step at most while streams decode (a fixed prefill share; default: the whole --max-batch-tokens).")
    var maxPrefillTokens: Int?

    @Option(help: "Target milliseconds per step while streams decode: prompt chunks are sized to it from the measured cost per token (bounds the gap between tokens; default off).")
    var stepTimeTarget: Double?

    func validate() throws {
        guard pageSize >= 1, pageSize <= 1024, pageSize & (pageSize - 1) == 0 else {
            throw ValidationError("--page-size must be a power of two from 1 to 1024, got \(pageSize)")
        }
        guard KVMemory(parsing: kvMemory) != nil else {
            throw ValidationError(
                "--kv-memory '\(kvMemory)' is not a size (512MiB, 2GB, 65536; at most \(KVMemory.maxByteCount) bytes) or a token count (32768tokens; at most \(KVMemory.maxTokenCount))")
        }
        guard maxBatchTokens >= 1 else { throw ValidationError("--max-batch-tokens must be at least 1") }
        if let maxPrefillTokens, maxPrefillTokens < 1 { throw ValidationError("--max-prefill-tokens must be at least 1") }
        if let stepTimeTarget, !(stepTimeTarget > 0) { throw ValidationError("--step-time-target must be a positive number of milliseconds") }
    }

    var configuration: EngineConfiguration {
        var c = EngineConfiguration()
        c.kvMode = kv
        c.tokensPerPage = pageSize
        c.kvElementType = kvDtype
        c.kvMemory = KVMemory(parsing: kvMemory)!
        c.maxBatchTokens = maxBatchTokens
        c.prefixCaching = !noPrefixCache
        c.releasesWindowPages = !keepWindowPages
        c.activationPrecision = activations
        c.argmaxShadow = !noArgmaxShadow
        c.prefillTokensPerStep = maxPrefillTokens
        c.stepTimeTarget = stepTimeTarget.map { $0 / 1000 }
        return c
    }

    /// Loads the model and starts an engine, turning failures into a clear message.
    /// The engine these options describe (`adjust` sets what a command fixes for itself).
    func makeEngine(_ adjust: (inout EngineConfiguration) -> Void = { _ in }) throws -> Engine {
        for problem in Engine.environmentProblems { printError("warning: \(problem)") }
        do {
            let bundle = try ModelBundle(path: modelPath)
            var c = configuration
            adjust(&c)
            return try Engine(bundle: bundle, configuration: c)
        } catch {
            throw CLIError(error.description)
        }
    }
}

extension KVMode: ExpressibleByArgument {}
extension KVElementType: ExpressibleByArgument {}
extension ActivationPrecision: ExpressibleByArgument {}

/// A failure to report as `Error: message` with exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The process's peak resident memory in bytes.
func peakMemoryBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var v = Double(n)
    var i = 0
    while v >= 1024 && i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return String(format: i == 0 ? "%.0f %@" : "%.1f %@", v, units[i])
}

/// Writes `text` to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
