import Foundation
import GGUF
import Llama
import Testing
import TestSupport

/// The GGUF fuzzer's seed corpus (Fuzz/corpus/gguf): tiny valid llama files written by
/// TestSupport's GGUFWriter (plain, with each rope scaling, with a rope_freqs tensor) and
/// truncations of one. The committed files must be what the writer makes today; set
/// `PAGEDFLEX_WRITE_FUZZ_SEEDS=1` to rewrite them after changing the writer.
struct FuzzSeedTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/corpus/gguf").standardized

    static func seeds() -> [(String, [UInt8])] {
        func tiny(_ type: GGMLType, _ edit: (inout TinyModel.Shape) -> Void = { _ in }) -> [UInt8] {
            var shape = TinyModel.Shape(heads: 2, kvHeads: 1, embedding: 32)
            shape.layers = 1
            shape.feedForward = 32
            shape.vocabulary = 8
            shape.context = 64
            edit(&shape)
            return TinyModel(shape: shape, weightType: type, seed: 11).writer.bytes()
        }
        var yarn = RopeScaling.YaRN(factor: 4, originalContextLength: 16)
        yarn.attentionFactor = 1.5
        let plain = tiny(.q4_0)
        var seeds: [(String, [UInt8])] = [
            ("tiny-q4_0.gguf", plain), ("tiny-q8_0.gguf", tiny(.q8_0)), ("tiny-q4_1.gguf", tiny(.q4_1)),
            ("tiny-f16.gguf", tiny(.f16)),
            ("tiny-linear.gguf", tiny(.q4_0) { $0.ropeScaling = .linear(factor: 2) }),
            ("tiny-yarn.gguf", tiny(.q4_0) { $0.ropeScaling = .yarn(yarn) }),
            ("tiny-llama3.gguf", tiny(.q4_0) { $0.ropeFrequencyFactors = (0..<8).map { 1 + Float($0) } }),
        ]
        for cut in [24, 100, plain.count / 2, plain.count - 40] {
            seeds.append(("tiny-cut-\(cut).gguf", Array(plain.prefix(cut))))
        }
        return seeds
    }

    @Test func theCommittedSeedsAreTheWritersFiles() throws {
        let seeds = Self.seeds()
        if ProcessInfo.processInfo.environment["PAGEDFLEX_WRITE_FUZZ_SEEDS"] != nil {
            try FileManager.default.createDirectory(at: Self.corpus, withIntermediateDirectories: true)
            for (name, bytes) in seeds { try Data(bytes).write(to: Self.corpus.appendingPathComponent(name)) }
        }
        for (name, bytes) in seeds {
            let committed = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            #expect(Array(committed) == bytes, "\(name) is stale: rerun with PAGEDFLEX_WRITE_FUZZ_SEEDS=1")
        }
        // The whole files load as models; the cut ones are GGUF errors.
        for (name, bytes) in seeds {
            let path = try GGUFWriter.write(bytes, named: "seed")
            defer { try? FileManager.default.removeItem(atPath: path) }
            if name.contains("cut") {
                #expect(throws: LlamaError.self) { try LlamaModel(path: path) }
            } else {
                _ = try LlamaModel(path: path)
            }
        }
    }
}
