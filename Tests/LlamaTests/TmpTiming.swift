import Foundation
import Llama
import Kernels
import PagedKVCache
import Testing
import TestSupport

final class NullKV: KVStore {
    func write(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, batch: ForwardBatch) {}
    func attend(layer: Int, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: ForwardBatch) {
        output.update(from: queries, count: batch.tokenCount * 576)
    }
}

@Test func tmpTiming() throws {
    let model = try LlamaModel(path: RealModel.path)
    let state = LlamaState(configuration: model.configuration)
    var logits: [Float] = []
    for n in [1, 1, 1, 128, 512] {
        var batch = ForwardBatch()
        batch.append(sequence: SequenceID(rawValue: 1), tokens: (0..<n).map { Int32($0 % 1000 + 100) }, cachedCount: 0)
        let start = DispatchTime.now().uptimeNanoseconds
        model.forward(batch, kv: NullKV(), state: state, logits: &logits)
        let s = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("n=\(n): \(s * 1000) ms, \(Double(n) / s) tok/s")
    }
}
