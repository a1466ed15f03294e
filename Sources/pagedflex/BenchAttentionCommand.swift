import ArgumentParser
import AttentionBench
import FlexAttention
import Foundation
import GGUF
import Llama
import PagedKVCache

/// FlexAttention's decode and prefill kernels on a real model's attention shape (query heads, KV
/// heads, head size, read from its GGUF), paged against contiguous KV side by side, with the
/// machine's memory bandwidth measured in the same run.
struct BenchAttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Paged vs contiguous attention (decode and prefill), and the fraction of memory bandwidth decode reaches.")

    @Option(help: "The GGUF model whose attention shape (query heads, KV heads, head size) to use, or its short name: smollm2 (the default), gemma3.")
    var model: String = defaultModelPath

    @Option(help: "Decode contexts (comma-separated).")
    var contexts: String = "128,512,2048,8192,32768"

    @Option(help: "Batch sizes (comma-separated).")
    var batchSizes: String = "1,16"

    @Option(help: "Page sizes (comma-separated).")
    var pageSizes: String = "8,16,32,64,128,256"

    @Option(help: "KV element types (comma-separated: f32,f16,int8).")
    var kvDtypes: String = "f32,f16,int8"

    @Option(help: "Prefill contexts (comma-separated; empty to skip prefill).")
    var prefillContexts: String = "128,512,2048"

    @Option(help: "Timed repetitions per shape (the median is reported).")
    var repetitions: Int = 7

    @Flag(help: "A seconds-long smoke run (small shapes).")
    var quick = false

    @Option(help: "Write every shape's figures as JSON to this file (each with pagedOverContiguousRatio).")
    var json: String?

    func run() throws {
        func ints(_ s: String) -> [Int] { s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        var config = quick ? AttentionBenchmarkConfiguration.smoke : AttentionBenchmarkConfiguration()
        if !quick {
            config.contexts = ints(contexts)
            config.batchSizes = ints(batchSizes)
            config.pageSizes = ints(pageSizes)
            config.prefillContexts = ints(prefillContexts)
            config.repetitions = repetitions
            config.elementTypes = try kvDtypes.split(separator: ",").map { name in
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard let type = KVElementType(rawValue: trimmed) else {
                    throw ValidationError("unknown KV dtype '\(trimmed)': give f32, f16 or int8")
                }
                return type
            }
        }
        let m: LlamaConfiguration
        do { m = try LlamaConfiguration(gguf: try GGUFFile(path: resolveModelPath(model))) } catch {
            throw CLIError("cannot read the model \(resolveModelPath(model)): \(error)")
        }
        config.queryHeadCount = m.headCount
        config.kvHeadCount = m.kvHeadCount
        config.headSize = m.headSize
        guard !config.contexts.isEmpty, !config.batchSizes.isEmpty, !config.pageSizes.isEmpty, !config.elementTypes.isEmpty else {
            throw ValidationError("give at least one context, batch size, page size and KV dtype")
        }
        let report = try AttentionBenchmark.run(config) { printError($0) }
        print("attention of \(URL(fileURLWithPath: resolveModelPath(model)).lastPathComponent): \(m.headCount) query heads, "
            + "\(m.kvHeadCount) KV heads, head size \(m.headSize)")
        print(report.table())
        if let json { try writeJSON(report, to: json) }
    }
}
