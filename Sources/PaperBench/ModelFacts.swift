import Engine
import Foundation
import Llama

/// The model a run measured: its file and the geometry that sets its KV memory.
public struct ModelFacts: Sendable, Hashable, Codable {
    public var file: String
    public var fileBytes: Int
    public var layers: Int
    public var queryHeads: Int
    public var kvHeads: Int
    public var headSize: Int
    public var contextLength: Int
    public var vocabularySize: Int
    /// Keys and values of one token over all layers, in the run's KV element type.
    public var kvBytesPerToken: Int

    init(bundle: ModelBundle, kvBytesPerToken: Int) {
        let c = bundle.model.configuration
        let attributes = try? FileManager.default.attributesOfItem(atPath: bundle.path)
        file = URL(fileURLWithPath: bundle.path).lastPathComponent
        fileBytes = (attributes?[.size] as? Int) ?? 0
        layers = c.layerCount
        queryHeads = c.headCount
        kvHeads = c.kvHeadCount
        headSize = c.headSize
        contextLength = c.contextLength
        vocabularySize = c.vocabularySize
        self.kvBytesPerToken = kvBytesPerToken
    }
}
