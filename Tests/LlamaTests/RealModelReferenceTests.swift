import Foundation
import GGUF
import Llama
import PagedKVCache
import Testing
import TestSupport

/// The real SmolLM2-135M model against the float64 reference outputs (shared/reference): every
/// logit of the last prompt position within 1e-3, the argmax of every position, and the 32-token
/// greedy continuation, all with plain (naive) attention and an fp32 cache.
@Suite(.enabled(if: RealModel.shouldRun), .serialized)
struct RealModelReferenceTests {
    static let model: LlamaModel? = try? LlamaModel(path: RealModel.path)

    func loadModel() throws -> LlamaModel {
        try #require(Self.model, "cannot load \(RealModel.path): run scripts/fetch-model")
    }

    @Test func promptLogitsMatchTheReference() throws {
        let model = try loadModel()
        let reference = try ReferenceFile.load()
        for prompt in reference.prompts {
            let kv = NaiveKVStore(configuration: model.configuration)
            let state = LlamaState(configuration: model.configuration)
            var batch = ForwardBatch()
            batch.append(sequence: SequenceID(rawValue: 1), tokens: prompt.ids, cachedCount: 0)
            batch.logitRows = Array(0..<prompt.ids.count)
            var logits: [Float] = []
            model.forward(batch, kv: kv, state: state, logits: &logits)
            let vocab = model.configuration.vocabularySize
            for p in 0..<prompt.ids.count {
                let (index, max) = LogitRow.argmaxAndMax(logits[p * vocab..<(p + 1) * vocab])!
                #expect(index - p * vocab == prompt.argmax_per_position[p], "\(prompt.name) position \(p)")
                #expect(abs(Double(max) - prompt.max_logit_per_position[p]) <= 1e-3, "\(prompt.name) position \(p)")
            }
            let expected = try reference.lastLogits(prompt)
            let last = Array(logits[(prompt.ids.count - 1) * vocab..<prompt.ids.count * vocab])
            let maxError = LogitRow.maxAbsoluteDifference(expected, last)
            #expect(maxError <= 1e-3, "\(prompt.name): max |Δlogit| \(maxError)")
        }
    }

    @Test func greedyContinuationsMatchTheReference() throws {
        let model = try loadModel()
        let reference = try ReferenceFile.load()
        for prompt in reference.prompts {
            let kv = NaiveKVStore(configuration: model.configuration)
            let state = LlamaState(configuration: model.configuration)
            let id = SequenceID(rawValue: 7)
            var batch = ForwardBatch()
            batch.append(sequence: id, tokens: prompt.ids, cachedCount: 0)
            var logits: [Float] = []
            var generated: [Int32] = []
            var cached = 0
            while generated.count < prompt.greedy.ids.count {
                model.forward(batch, kv: kv, state: state, logits: &logits)
                cached = batch.sequences[0].kvLength
                let next = Int32(LogitRow.argmaxAndMax(logits)!.index)
                generated.append(next)
                batch.removeAll()
                batch.append(sequence: id, tokens: [next], cachedCount: cached)
            }
            #expect(generated == prompt.greedy.ids, "\(prompt.name)")
        }
    }
}
