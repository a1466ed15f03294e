/// When a sequence stops generating.
public struct StopConditions: Sendable, Hashable, Codable {
    /// Generated tokens at most.
    public var maxTokens: Int
    /// Tokens that end the sequence (not included in the output text), e.g. `<|im_end|>`.
    public var stopTokens: Set<Int32>
    /// Strings that end the sequence when the output text contains them (the text is cut before).
    public var stopStrings: [String]

    public init(maxTokens: Int = 256, stopTokens: Set<Int32> = [], stopStrings: [String] = []) {
        self.maxTokens = maxTokens
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
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
