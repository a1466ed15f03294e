import Engine
import Foundation
import Testing
import TestSupport

/// Perplexity of the public reference text: the first 4,096 tokens in 8 windows of 512, against
/// the float64 reference (relative 1e-5), and bitwise the same through paged and contiguous KV.
@Suite(.enabled(if: RealModel.shouldRun), .serialized)
struct PerplexityTests {
    @Test func gplPerplexityMatchesTheReferenceAndDoesNotDependOnTheLayout() throws {
        let bundle = try Bundle.load()
        let reference = try ReferenceFile.load().perplexity
        let text = try String(contentsOf: RealModel.referenceDirectory.appendingPathComponent("GPL-3.txt"), encoding: .utf8)
        let tokens = bundle.tokenizer.encode(text)
        #expect(tokens.count == reference.n_tokens_in_file)
        let paged = try bundle.perplexity(of: tokens, window: reference.window, windowCount: reference.n_windows, configuration: configuration())
        #expect(paged.predictionCount == 4088)
        #expect(abs(paged.perplexity - reference.ppl) / reference.ppl <= 1e-5, "ppl \(paged.perplexity) vs \(reference.ppl)")
        #expect(abs(paged.meanNLL - reference.mean_nll) <= 1e-5)
        for (got, want) in zip(paged.perWindowMeanNLL, reference.per_window_mean_nll) { #expect(abs(got - want) <= 1e-5) }
        // The contiguous baseline, with another prefill chunking: the same bits.
        let contiguous = try bundle.perplexity(
            of: tokens, window: reference.window, windowCount: 2, configuration: configuration(.contiguous, batchTokens: 200))
        #expect(contiguous.perWindowMeanNLL == Array(paged.perWindowMeanNLL.prefix(2)))
    }

    /// The optional 8-bit activation path (llama.cpp's scheme) departs from the exact logits, so
    /// it is held to perplexity: within 1% of the reference over the same 4,096 tokens.
    @Test func eightBitActivationsStayWithinOnePercentPerplexity() throws {
        let bundle = try Bundle.load()
        let reference = try ReferenceFile.load().perplexity
        let text = try String(contentsOf: RealModel.referenceDirectory.appendingPathComponent("GPL-3.txt"), encoding: .utf8)
        var config = configuration()
        config.activationPrecision = .q8
        let q8 = try bundle.perplexity(
            of: bundle.tokenizer.encode(text), window: reference.window, windowCount: reference.n_windows, configuration: config)
        let relative = abs(q8.perplexity - reference.ppl) / reference.ppl
        #expect(relative < 0.01, "q8 perplexity \(q8.perplexity) vs \(reference.ppl)")
        for (got, want) in zip(q8.perWindowMeanNLL, reference.per_window_mean_nll) { #expect(abs(got - want) < 0.02) }
    }

    /// Int8 KV (a byte per value and a scale per row: 27% of f32's bytes) changes what attention
    /// reads, so it too is held to perplexity: within 1% of the reference over the same tokens.
    @Test func int8KVStaysWithinOnePercentPerplexity() throws {
        let bundle = try Bundle.load()
        let reference = try ReferenceFile.load().perplexity
        let text = try String(contentsOf: RealModel.referenceDirectory.appendingPathComponent("GPL-3.txt"), encoding: .utf8)
        var config = configuration()
        config.kvElementType = .int8
        let int8 = try bundle.perplexity(
            of: bundle.tokenizer.encode(text), window: reference.window, windowCount: reference.n_windows, configuration: config)
        let relative = abs(int8.perplexity - reference.ppl) / reference.ppl
        #expect(relative < 0.01, "int8 KV perplexity \(int8.perplexity) vs \(reference.ppl)")
        #expect(int8.perplexity != reference.ppl)  // the int8 rows were read, not f32 ones
        for (got, want) in zip(int8.perWindowMeanNLL, reference.per_window_mean_nll) { #expect(abs(got - want) < 0.02) }
    }

    @Test func tooShortATextIsAClearError() throws {
        let bundle = try Bundle.load()
        #expect(throws: EngineError.invalidConfiguration("the text has 3 tokens, fewer than one window of 512")) {
            try bundle.perplexity(of: [1, 2, 3], window: 512)
        }
    }
}
