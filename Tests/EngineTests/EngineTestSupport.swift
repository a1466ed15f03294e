import Engine
import Foundation
import Sampling
import TestSupport

/// The real model, loaded once for every engine test.
enum Bundle {
    static let shared = Result { try ModelBundle(path: RealModel.path) }

    static func load() throws -> ModelBundle {
        do { return try shared.get() } catch { throw Failure("cannot load \(RealModel.path) (run scripts/fetch-model): \(error)") }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

extension Engine {
    /// Runs `request` to the end and returns each sample's tokens (stop tokens excluded).
    func tokens(for request: GenerationRequest) async throws -> [[Int32]] {
        var out = [[Int32]](repeating: [], count: request.sampleCount)
        for try await event in submit(request) {
            if let t = event.token { out[event.sample].append(t) }
        }
        return out
    }

    /// Waits until the step loop has published a snapshot with nothing running or waiting; a
    /// loop that never gets there (10 s) is a failure, not a snapshot to check leaks in.
    func idleUsage() async throws -> EngineUsage {
        for _ in 0..<1000 {
            let u = usage()
            if u.runningSequences == 0 && u.waitingSequences == 0 { return u }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        throw Bundle.Failure("the engine never went idle: \(usage())")
    }
}

func configuration(
    _ mode: KVMode = .paged, pageSize: Int = 16, memory: KVMemory = .tokens(8192), batchTokens: Int = 512
) -> EngineConfiguration {
    var c = EngineConfiguration()
    c.kvMode = mode
    c.tokensPerPage = pageSize
    c.kvMemory = memory
    c.maxBatchTokens = batchTokens
    return c
}

/// A greedy request of exactly `count` new tokens (end-of-sequence does not stop it).
func greedy(_ tokens: [Int32], count: Int) -> GenerationRequest {
    GenerationRequest(promptTokens: tokens, sampling: .greedy, stop: StopConditions(maxTokens: count))
}

/// Each prompt's `count` greedy (or `sampling`, seeded per prompt) tokens, all submitted at once (one batch), with 8-bit or fp32
/// activations and the output product's argmax shadow on or off; and the share of the output
/// rows the decode steps computed in full (0 without the shadow, which computes them all).
func greedyBatch(
    _ bundle: ModelBundle, prompts: [[Int32]], count: Int, q8: Bool, shadow: Bool, sampling: SamplingParameters = .greedy
) async throws -> (tokens: [[Int32]], computedShare: Double) {
    var c = configuration(memory: .tokens(16384))
    c.activationPrecision = q8 ? .q8 : .f32
    c.argmaxShadow = shadow
    c.profileForward = true
    let engine = try Engine(bundle: bundle, configuration: c)
    defer { engine.shutdown() }
    let tokens = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
        for (i, p) in prompts.enumerated() {
            var parameters = sampling
            parameters.seed = sampling.seed.map { $0 + UInt64(i) }
            let request = GenerationRequest(promptTokens: p, sampling: parameters, stop: StopConditions(maxTokens: count))
            group.addTask { (i, try await engine.tokens(for: request)[0]) }
        }
        var all = [[Int32]](repeating: [], count: prompts.count)
        for try await (i, t) in group { all[i] = t }
        return all
    }
    guard let decode = try await engine.idleUsage().forwardProfile?.decode else { throw Bundle.Failure("no forward profile") }
    let vocabulary = bundle.model.configuration.vocabularySize
    return (tokens, Double(decode.argmaxRows) / Double(max(1, decode.tokens * vocabulary)))
}
