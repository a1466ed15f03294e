import Foundation

/// llama.cpp's perplexity from the peers' results file (`../shared/peers/results/llamacpp.json`,
/// written by `llamacpp_bench.py`), when it has one.
public struct PeerPerplexity: Sendable, Hashable, Codable {
    public var perplexity: Double
    public var window: Int?
    public var windowCount: Int?
    public var source: String

    /// The `perplexity` entry of `file`; nil when the file or the entry is missing.
    static func load(_ file: URL) -> PeerPerplexity? {
        guard let data = try? Data(contentsOf: file),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entry = json["perplexity"] as? [String: Any], let value = entry["perplexity"] as? Double
        else { return nil }
        return PeerPerplexity(
            perplexity: value, window: entry["window"] as? Int, windowCount: entry["n_windows"] as? Int, source: file.path)
    }
}
