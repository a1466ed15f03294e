import Foundation
import Kernels

/// Whether decode units ask for their next KV tile's rows while they compute the current one
/// (see ``AttentionPass/computeScores(_:target:firstKey:count:isFull:)``). Hints only: the result
/// is the same bits either way.
///
/// Measured on Zen 5 (2 threads, SmolLM2, 16 sequences of 200-500 tokens, 8-bit activations, f16
/// KV, `bench batch --profile`, 6 alternations): attention 15.3 → 11.6 ms a step paged and
/// 16.7 → 11.4 contiguous (medians), every pair in the same direction. Not on Intel
/// (``Prefetch/burstStallsIssuer``), where it is not measured yet: there a tile's prefetches
/// asked at once were 20-40 % slower.
public enum AttentionPrefetch {
    /// The environment variable that overrides the machine's default: `0` off, `1` on.
    public static let variable = "PAGEDFLEX_ATTENTION_PREFETCH"

    /// Whether decode units prefetch their next tile.
    public static let nextTile = setting.enabled

    /// Why `PAGEDFLEX_ATTENTION_PREFETCH` was not honoured, if it was set to something else than `0` or `1`.
    public static let problem = setting.problem

    static let setting = setting(requested: ProcessInfo.processInfo.environment[variable])

    /// The choice a value of `PAGEDFLEX_ATTENTION_PREFETCH` asks for: nil or empty, the machine's
    /// default; `0` or `1`; anything else, the default and the reason.
    public static func setting(requested: String?) -> (enabled: Bool, problem: String?) {
        let standard = !Prefetch.burstStallsIssuer
        switch requested {
        case nil, "": return (standard, nil)
        case "0": return (false, nil)
        case "1": return (true, nil)
        case let text?: return (standard, "\(variable)=\(text) is neither 0 nor 1; using \(standard ? 1 : 0)")
        }
    }
}
