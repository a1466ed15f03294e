import ArgumentParser
import Foundation
import GGUF
import Llama
import FlexAttention
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

    @Option(help: "Models with sliding-window layers: the length of the one long sequence whose window pages are given back (its prompt is half of it, prefilled in chunks of 512, the rest decoded).")
    var windowSequence: Int = 4096

    @Option(help: "Page size of the sliding-window comparison.")
    var windowPageSize: Int = 16

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
        let window = try windowComparison(m)
        struct Figures: Codable { var sequenceLengths: [Int]; var seed: UInt64; var pageSizes: [Row]; var slidingWindow: WindowRow? }
        if let json { try writeJSON(Figures(sequenceLengths: batch, seed: seed, pageSizes: rows, slidingWindow: window), to: json) }
    }

    struct WindowRow: Codable {
        var sequenceLength: Int
        var tokensPerPage: Int
        var windowLayers: Int
        var globalLayers: Int
        var window: Int
        /// Layer-tokens: one position's keys and values in one layer.
        var releasedLayerTokens: Int
        var releasedPeakLayerTokens: Int
        var keptLayerTokens: Int
        var contiguousLayerTokens: Int
        var minimumLayerTokens: Int
        var bytesPerLayerToken: Int
    }

    /// One long sequence on a model with sliding-window layers: the pages it holds with the
    /// window layers' pages given back, kept, and in the contiguous baseline.
    func windowComparison(_ m: LlamaConfiguration) throws -> WindowRow? {
        let groups = KVLayerGroups(layerCount: m.layerCount, windowLength: m.slidingWindow(layer:))
        guard groups.hasWindowGroups, let window = m.slidingWindow else { return nil }
        guard windowSequence >= 1, windowSequence <= m.contextLength else {
            throw ValidationError("--window-sequence within 1...\(m.contextLength) (the model's context)")
        }
        let layout = try PageLayout(
            tokensPerPage: windowPageSize, layerCount: groups.layersPerGroup, kvHeadCount: m.kvHeadCount, headSize: m.headSize,
            elementType: kvDtype)
        let c = KVWindowComparison(
            layerGroups: groups, layout: layout, sequenceLength: windowSequence, promptLength: max(1, windowSequence / 2),
            chunkTokenCount: 512, contextLength: m.contextLength, releaseAlignment: AttentionTiling.kvTileLength)
        let windowLayers = groups.windowLengths.filter { $0 != nil }.count * groups.layersPerGroup
        let globalLayers = m.layerCount - windowLayers
        let row = WindowRow(
            sequenceLength: windowSequence, tokensPerPage: windowPageSize, windowLayers: windowLayers, globalLayers: globalLayers,
            window: window, releasedLayerTokens: c.releasedLayerTokens, releasedPeakLayerTokens: c.releasedPeakLayerTokens,
            keptLayerTokens: c.keptLayerTokens, contiguousLayerTokens: c.contiguousLayerTokens,
            minimumLayerTokens: c.minimumLayerTokens, bytesPerLayerToken: c.bytesPerLayerToken)
        func tokens(_ layerTokens: Int) -> String { fmt(Double(layerTokens) / Double(m.layerCount), 1) }
        print("")
        print("sliding window: one sequence of \(windowSequence) tokens (prompt \(max(1, windowSequence / 2)) in chunks of 512, then decoded), \(windowPageSize)-token pages; \(windowLayers) of \(m.layerCount) layers through a \(window)-token window, layer groups \(groups)")
        print("  held = \(windowLayers) × \(min(window, windowSequence)) + \(globalLayers) × \(windowSequence) = \(c.minimumLayerTokens) layer-tokens is what the layers can still read; \(m.layerCount) × \(windowSequence) = \(m.layerCount * windowSequence) keeps every page")
        print(Table(
            header: ["KV", "layer-tokens held", "tokens' worth (÷ \(m.layerCount) layers)", "bytes", "× minimum"],
            rows: [
                ("paged, window pages released", c.releasedLayerTokens),
                ("paged, released (peak during the run)", c.releasedPeakLayerTokens),
                ("paged, window pages kept", c.keptLayerTokens),
                ("contiguous (\(m.contextLength)-token buffer)", c.contiguousLayerTokens),
                ("minimum (\(windowLayers) × window + \(globalLayers) × length)", c.minimumLayerTokens),
            ].map { name, value in
                [name, String(value), tokens(value), formatBytes(value * c.bytesPerLayerToken),
                 fmt(Double(value) / Double(c.minimumLayerTokens), 3)]
            }).render())
        return row
    }
}
