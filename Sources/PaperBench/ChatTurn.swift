/// One turn of the growing chat: the whole conversation so far submitted again, with the prefix
/// cache on and off.
public struct ChatTurn: Sendable, Hashable, Codable {
    public var turn: Int
    /// Tokens of the submitted conversation (system prompt, every turn so far, the new user text).
    public var contextTokens: Int
    /// Leading tokens the prefix cache served with the cache on.
    public var cachedTokens: Int
    public var timeToFirstTokenCacheOn: Double
    /// Measured at the turns where the conversation has doubled since the first (and the last
    /// turn): recomputing everything every turn would cost the sum of all the lengths.
    public var timeToFirstTokenCacheOff: Double?
    /// Tokens of the model's reply (added to the conversation for the next turn).
    public var replyTokens: Int
}
