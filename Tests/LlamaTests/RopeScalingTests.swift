import Foundation
import GGUF
import Kernels
@testable import Llama
import Testing
import TestSupport

/// `llama.rope.scaling.*` and `rope_freqs.weight`: each scaling llama.cpp supports for llama
/// models changes the forward pass exactly as the naive reference computes it from the
/// definitions (TestSupport's TinyModel), and anything else is refused by name.
struct RopeScalingTests {
    static func tiny(_ scaling: RopeScaling, factors: [Float]? = nil) -> TinyModel {
        var shape = TinyModel.Shape(heads: 4, kvHeads: 2)
        shape.ropeScaling = scaling
        shape.ropeFrequencyFactors = factors
        return TinyModel(shape: shape, weightType: .f32, seed: 7)
    }

    static var yarn: RopeScaling {
        var y = RopeScaling.YaRN(factor: 4, originalContextLength: 64)
        y.attentionFactor = 1.25
        y.betaFast = 16
        return .yarn(y)
    }

    /// Frequency factors as llama3's converter writes them: 1 for high frequencies, growing
    /// toward the low ones.
    static let llama3Factors: [Float] = (0..<8).map { 1 + Float($0 * $0) / 8 }

    @Test(arguments: [
        (RopeScaling.linear(factor: 4), nil), (yarn, nil), (.none, llama3Factors), (yarn, llama3Factors),
    ] as [(RopeScaling, [Float]?)])
    func forwardMatchesTheNaiveReference(scaling: RopeScaling, factors: [Float]?) throws {
        let tiny = Self.tiny(scaling, factors: factors)
        let model = try LlamaModel(path: try tiny.write())
        #expect(model.configuration.ropeScaling == scaling)
        #expect(model.weights.ropeFrequencyFactors == factors)
        let scaled = try TinyModelTests.expectForwardMatchesReference(tiny)
        // And the scaling is not a no-op here: the unscaled model's logits differ.
        let plain = try TinyModelTests.expectForwardMatchesReference(Self.tiny(.none))
        let gap = zip(scaled.joined(), plain.joined()).map { abs($0 - $1) }.max()!
        #expect(gap > 1e-2, "scaled and unscaled logits differ by at most \(gap)")
    }

    @Test func theUnscaledTableIsTheOldFormulaBitForBit() {
        let rope = RotaryEmbedding(headSize: 64, rotaryDimensions: 64, base: 10000)
        var cos = [Float](repeating: 0, count: 32), sin = cos
        rope.angles(position: 8191, cos: &cos, sin: &sin)
        for i in 0..<32 {
            let theta = Double(8191) * Foundation.pow(10000, -Double(2 * i) / 64)
            #expect(cos[i] == Float(Foundation.cos(theta)) && sin[i] == Float(Foundation.sin(theta)))
        }
    }

    @Test func yarnCorrectionDimensionsMatchGGML() {
        // ggml_rope_yarn_corr_dims(64, 4096, 10000, 32, 1) = (floor 10.47, ceil 22.51) = (10, 23).
        let (low, high) = RopeScaling.correctionDimensions(
            rotaryDimensions: 64, originalContextLength: 4096, base: 10000, betaFast: 32, betaSlow: 1)
        #expect(low == 10 && high == 23)
    }

    func load(_ edit: (inout GGUFWriter) -> Void) throws -> LlamaModel {
        var w = Self.tiny(.none).writer
        edit(&w)
        return try LlamaModel(path: try w.write(named: "rope"))
    }

    @Test func typesWithoutAnExactComputationAreRefusedByName() {
        for type in ["longrope", "su", "dynamic"] {
            #expect(throws: LlamaError.unsupportedRopeScaling(type)) {
                try load { $0.add("llama.rope.scaling.type", .string(type)) }
            }
        }
        #expect(LlamaError.unsupportedRopeScaling("longrope").description.contains("'longrope'"))
    }

    @Test func llamaCppDefaults() throws {
        // No type: linear, as llama.cpp reads it; the old key spells the factor too.
        #expect(try load { $0.add("llama.rope.scaling.factor", .float32(2)) }.configuration.ropeScaling == .linear(factor: 2))
        #expect(try load { $0.add("llama.rope.scale_linear", .float32(8)) }.configuration.ropeScaling == .linear(factor: 8))
        // A factor of 0 or 1 and the type "none" mean no scaling.
        #expect(try load { $0.add("llama.rope.scaling.factor", .float32(0)) }.configuration.ropeScaling == .none)
        #expect(try load {
            $0.add("llama.rope.scaling.type", .string("none"))
            $0.add("llama.rope.scaling.factor", .float32(4))
        }.configuration.ropeScaling == .none)
        // YaRN's original context defaults to the context length.
        let yarn = try load {
            $0.add("llama.rope.scaling.type", .string("yarn"))
            $0.add("llama.rope.scaling.factor", .float32(2))
        }
        #expect(yarn.configuration.ropeScaling == .yarn(.init(factor: 2, originalContextLength: 256)))
    }

    @Test func badScalingValuesAreClearErrors() {
        let cases: [(String, GGUFValue)] = [
            ("llama.rope.scaling.factor", .float32(-2)), ("llama.rope.scaling.factor", .float32(.nan)),
            ("llama.rope.scaling.type", .uint32(1)),
        ]
        for (key, value) in cases {
            #expect(performing: { try load { $0.add(key, value) } }, throws: { error in
                if case .invalidConfiguration = error as? LlamaError { return true }
                return false
            })
        }
        #expect(performing: {
            try load {
                $0.add(tensor: "rope_freqs.weight", dimensions: [8], type: .f32, values: [1, 1, 1, 0, 1, 1, 1, 1])
            }
        }, throws: { error in
            if case .invalidConfiguration(let why) = error as? LlamaError { return why.contains("rope_freqs") }
            return false
        })
    }
}
