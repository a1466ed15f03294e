import Foundation
import Locking
import PaperBench
import TestSupport

/// The whole bench at a scale a tiny random model finishes in seconds: every experiment runs,
/// with lengths, batches and windows cut to fit a 256-token context.
enum TinyBench {
    /// The tiny model with a tokenizer, written once for every test.
    static let modelPath = Result {
        try TinyModel(shape: TinyModel.shapeWithTokenizer(contextLength: 256), weightType: .q8_0, seed: 11).writeWithTokenizer()
    }

    /// Prose for prompts, chat turns and perplexity (every byte has a token, so any text works).
    static let text = String(
        repeating: "The paged cache keeps keys and values in fixed pages; a table maps each position of a sequence to its page. "
            + "When a sequence ends, its pages return to the pool at once, and another sequence can take them. ",
        count: 6)

    /// Every experiment at a tiny scale.
    static var plan: PaperPlan {
        var plan = PaperPlan.quick
        plan.scale = "tiny"
        plan.latency.promptLengths = [8, 32, 64]
        plan.latency.decodeTokens = 4
        plan.latency.noCacheDecodeTokens = 2
        plan.mixedBatch.requestCount = 4
        plan.mixedBatch.shortestPrompt = 8
        plan.mixedBatch.longestPrompt = 48
        plan.mixedBatch.generatedTokens = 4
        plan.mixedBatch.budgetTokens = 512  // two 256-token contiguous buffers
        plan.growingChat.firstTurnTokens = 40
        plan.growingChat.finalTokens = 300  // the last turn, 280 tokens, is past the context: skipped
        plan.growingChat.turnTokens = 40
        plan.growingChat.replyTokens = 4
        plan.pageSizes.tokensPerPage = [8, 16, 32]
        plan.pageSizes.repetitions = 2
        plan.pageSizes.endToEndLongestPrompt = 24
        plan.pageSizes.endToEndShortestPrompt = 8
        plan.pageSizes.endToEndRequestCount = 3
        plan.pageSizes.endToEndDecodeTokens = 3
        plan.longGeneration.targetLength = 80
        plan.longGeneration.promptTokens = 8
        plan.longGeneration.windowTokens = 16
        plan.perplexity.window = 32
        plan.perplexity.windowCount = 2
        plan.perplexity.chunkTokens = 8
        return plan
    }

    /// Runs `plan` into a fresh temporary folder; returns the folder, the results and the
    /// progress messages.
    static func run(_ plan: PaperPlan, peerResults: URL? = nil) async throws -> (URL, PaperResults, [String]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("paper-bench-\(UUID().uuidString)")
        let messages = Locked<[String]>([])
        let bench = PaperBench(
            plan: plan, modelPath: try modelPath.get(), text: text, textName: "tiny test text", peerResults: peerResults,
            outputDirectory: folder, command: "pagedflex bench paper (test)",
            progress: ProgressLog { message in messages.withLock { $0.append(message) } })
        let results = try await bench.run()
        return (folder, results, messages.withLock { $0 })
    }
}
