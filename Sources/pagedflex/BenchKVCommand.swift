import ArgumentParser
import Foundation
import GGUF
import Llama
import PagedKVCache

/// The paper's headline memory figure: KV waste of a mixed batch with fixed-size pages against a
/// contiguous cache that reserves the whole context per sequence, measured through the cache's
/// own books, with the model's KV geometry (layers, KV heads × head size) and context read from
/// its file.
struct BenchKVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv", abstract: "KV waste of the paper's mixed batch, paged (several page sizes) vs contiguous.")

    @Option(help: "Sequences in the batch.")
    var sequences: Int = 16

    @Option(help: "The GGUF model whose KV geometry and context to use, or its short name: smollm2 (the default), gemma3.")
    var model: String = defaultModelPath

    @Option(help: "Lengths are uniform in this range (min,max; max at most the model's context).")
    var lengths: String = "128,8192"

    @Option(help: "Page sizes to compare (comma-separated).")
    var pageSizes: String = "8,16,32,64,128,256"

    @Option(help: "Seed of the lengths.")
    var seed: UInt64 = 2025

    @Option(help: "KV element type: f32 or f16.")
    var kvDtype: KVElementType = .f32

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    struct Row: Codable {
        var tokensPerPage: Int
        var bytesInUse: Int
        var minimumBytes: Int
        var wasteBytes: Int
        var wastePercent: Double
        var contiguousBytesInUse: Int
        var contiguousWasteBytes: Int
        var contiguousWastePercent: Double
    }

    func run() throws {
        let m: LlamaConfiguration
        do { m = try LlamaConfiguration(gguf: try GGUFFile(path: resolveModelPath(model))) } catch {
            throw CLIError("cannot read the model \(resolveModelPath(model)): \(error)")
        }
        let bounds = lengths.split(separator: ",").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 1, bounds[0] <= bounds[1], bounds[1] <= m.contextLength else {
            throw ValidationError("--lengths MIN,MAX within 1...\(m.contextLength) (the model's context)")
        }
        let batch = KVWasteComparison.paperMixedBatch(sequenceCount: sequences, lengths: bounds[0]...bounds[1], seed: seed)
        var rows: [Row] = []
        for size in pageSizes.split(separator: ",").compactMap({ Int($0) }) {
            let layout = try PageLayout(
                tokensPerPage: size, layerCount: m.layerCount, kvHeadCount: m.kvHeadCount, headSize: m.headSize, elementType: kvDtype)
            let c = try KVWasteComparison(sequenceLengths: batch, layout: layout, contextLength: m.contextLength)
            rows.append(Row(
                tokensPerPage: size, bytesInUse: c.paged.bytesInUse, minimumBytes: c.paged.minimumBytes,
                wasteBytes: c.paged.wasteBytes, wastePercent: c.paged.wastePercent,
                contiguousBytesInUse: c.contiguous.bytesInUse, contiguousWasteBytes: c.contiguous.wasteBytes,
                contiguousWastePercent: c.contiguous.wastePercent))
        }
        print("bench kv: \(m.architecture.name), \(m.layerCount) layers × \(m.kvHeadCount) KV heads × \(m.headSize), context \(m.contextLength); \(sequences) sequences, lengths uniform in \(bounds[0])...\(bounds[1]) (seed \(seed)), \(batch.reduce(0, +)) tokens, \(kvDtype) KV")
        print(Table(
            header: ["tokens/page", "paged in use", "minimum", "paged waste", "waste %", "contiguous in use", "contiguous waste %"],
            rows: rows.map { r in
                [String(r.tokensPerPage), formatBytes(r.bytesInUse), formatBytes(r.minimumBytes), formatBytes(r.wasteBytes),
                 fmt(r.wastePercent, 3), formatBytes(r.contiguousBytesInUse), fmt(r.contiguousWastePercent, 2)]
            }).render())
        struct Figures: Codable { var sequenceLengths: [Int]; var seed: UInt64; var pageSizes: [Row] }
        if let json { try writeJSON(Figures(sequenceLengths: batch, seed: seed, pageSizes: rows), to: json) }
    }
}
