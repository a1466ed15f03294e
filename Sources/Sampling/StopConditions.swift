/// When a sequence stops generating.
public struct StopConditions: Sendable, Hashable, Codable {
    /// Generated tokens at most, clamped to ``maxTokensLimit`` (a count above every context
    /// length, so the clamp never changes when a sequence stops, and `prompt + maxTokens`
    /// cannot overflow however large the caller's number).
    public var maxTokens: Int {
        get { storedMaxTokens }
        set { storedMaxTokens = min(newValue, Self.maxTokensLimit) }
    }
    private var storedMaxTokens: Int
    public static let maxTokensLimit = 1 << 40
    /// Tokens that end the sequence (not included in the output text), e.g. `<|im_end|>`.
    public var stopTokens: Set<Int32>
    /// Strings that end the sequence when the output text contains them (the text is cut before).
    public var stopStrings: [String]

    public init(maxTokens: Int = 256, stopTokens: Set<Int32> = [], stopStrings: [String] = []) {
        storedMaxTokens = min(maxTokens, Self.maxTokensLimit)
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
    }

    enum CodingKeys: String, CodingKey { case maxTokens, stopTokens, stopStrings }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            maxTokens: try c.decode(Int.self, forKey: .maxTokens), stopTokens: try c.decode(Set<Int32>.self, forKey: .stopTokens),
            stopStrings: try c.decode([String].self, forKey: .stopStrings))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(maxTokens, forKey: .maxTokens)
        try c.encode(stopTokens, forKey: .stopTokens)
        try c.encode(stopStrings, forKey: .stopStrings)
    }

    /// Why a sequence finished.
    public enum Reason: String, Sendable, Codable {
        case stopToken = "stop"
        case stopString = "stop_string"
        case length
        case contextFull = "context_full"
        case cancelled
    }

    /// The reason to stop after `token` made the output `generatedCount` tokens long, if any.
    public func reason(after token: Int32, generatedCount: Int) -> Reason? {
        if stopTokens.contains(token) { return .stopToken }
        if generatedCount >= maxTokens { return .length }
        return nil
    }

    /// The earliest occurrence of any stop string in `text`, as the range to cut.
    public func stopStringRange(in text: String) -> Range<String.Index>? {
        stopStrings.compactMap { $0.isEmpty ? nil : text.range(of: $0) }.min { $0.lowerBound < $1.lowerBound }
    }
}
