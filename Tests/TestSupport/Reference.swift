import Foundation

/// `reference.json` of the shared reference outputs, decoded into typed values.
public struct ReferenceFile: Decodable, Sendable {
    public struct Prompt: Decodable, Sendable {
        public struct Greedy: Decodable, Sendable {
            public let ids: [Int32]
            public let text: String
        }
        public let name: String
        public let prompt: String
        public let ids: [Int32]
        public let last_logits_file: String
        public let argmax_per_position: [Int]
        public let max_logit_per_position: [Double]
        public let logsumexp_per_position: [Double]
        public let greedy: Greedy
    }
    public struct Perplexity: Decodable, Sendable {
        public let path: String
        public let n_tokens_in_file: Int
        public let n_tokens_used: Int
        public let window: Int
        public let n_windows: Int
        public let first_16_ids: [Int32]
        public let ids_sha256_le_int32: String
        /// Gemma's reference only: the sha256 of every id of the file.
        public let all_ids_sha256_le_int32: String?
        public let mean_nll: Double
        public let ppl: Double
        public let per_window_mean_nll: [Double]
    }
    public let prompts: [Prompt]
    public let perplexity: Perplexity

    /// SmolLM2's reference (`shared/reference`), or another model's directory of the same format.
    public static func load(directory: URL = RealModel.referenceDirectory) throws -> ReferenceFile {
        let url = directory.appendingPathComponent("reference.json")
        return try JSONDecoder().decode(ReferenceFile.self, from: Data(contentsOf: url))
    }

    /// Gemma 3 270M's reference (`shared/reference/gemma3`).
    public static func loadGemma() throws -> ReferenceFile { try load(directory: RealModel.gemmaReferenceDirectory) }

    /// The stored last-position logits of a prompt.
    public func lastLogits(_ prompt: Prompt, directory: URL = RealModel.referenceDirectory) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(prompt.last_logits_file))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
