/// How the next token is chosen from a row of logits.
///
/// `temperature == 0` is greedy (argmax, first index on ties). Otherwise the logits are divided
/// by the temperature and the candidates are narrowed by top-k (0 = off), then min-p (keep tokens
/// whose probability is at least `minP` × the top probability; 0 = off), then top-p (the smallest
/// set whose probability reaches `topP`; 1 = off), and one is drawn from the renormalized rest.
public struct SamplingParameters: Sendable, Hashable, Codable {
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    public var minP: Float
    /// Seeds the generator; nil draws a seed from the system.
    public var seed: UInt64?

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.seed = seed
    }

    /// Argmax decoding.
    public static let greedy = SamplingParameters(temperature: 0, topK: 0, topP: 1, minP: 0)

    public var isGreedy: Bool { temperature == 0 || topK == 1 }

    /// Why a parameter set is refused.
    public func validate() throws(SamplingError) {
        guard temperature.isFinite, temperature >= 0 else { throw .invalid("temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw .invalid("top-k must be ≥ 0 (0 turns it off), got \(topK)") }
        guard topP > 0, topP <= 1 else { throw .invalid("top-p must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP < 1 else { throw .invalid("min-p must be in [0, 1), got \(minP)") }
    }
}

public enum SamplingError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let why): why
        }
    }
}
