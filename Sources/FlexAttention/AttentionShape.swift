/// Head geometry of one attention call. Grouped-query attention: the `groupSize` query heads
/// `kvHead·groupSize ..< (kvHead+1)·groupSize` share KV head `kvHead` (query head `h` reads KV
/// head `h / groupSize`), and the kernel processes them together so each KV row is read once.
public struct AttentionShape: Sendable, Hashable, CustomStringConvertible {
    public let queryHeadCount: Int
    public let kvHeadCount: Int
    public let headSize: Int
    /// Multiplies `q·k` before the score modifier; `1/√headSize` by default.
    public let scale: Float

    public init(queryHeadCount: Int, kvHeadCount: Int, headSize: Int, scale: Float? = nil) {
        precondition(kvHeadCount >= 1 && queryHeadCount % kvHeadCount == 0,
                     "\(queryHeadCount) query heads cannot share \(kvHeadCount) KV heads evenly")
        precondition(headSize >= 8 && headSize % 8 == 0, "head size must be a positive multiple of 8, got \(headSize)")
        self.queryHeadCount = queryHeadCount
        self.kvHeadCount = kvHeadCount
        self.headSize = headSize
        self.scale = scale ?? 1 / Float(headSize).squareRoot()
    }

    /// Query heads per KV head.
    @inlinable public var groupSize: Int { queryHeadCount / kvHeadCount }
    /// Floats of one packed query (or output) row: all query heads of one token.
    @inlinable public var queryRowStride: Int { queryHeadCount * headSize }

    public var description: String {
        "\(queryHeadCount) query heads / \(kvHeadCount) KV heads × \(headSize), scale \(scale)"
    }
}
