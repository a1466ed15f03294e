/// How a rectangle of (query, key) pairs relates to a mask: the three kinds of tile a
/// ``BlockMask`` tells apart.
public enum TileVisibility: Sendable, Hashable, CaseIterable {
    /// No pair is visible: the kernel skips the tile.
    case empty
    /// Some pairs are visible: the kernel evaluates the mask on every pair of the tile.
    case partial
    /// Every pair is visible: the kernel computes the tile without calling the mask.
    case full

    /// The visibility of the pairs that both masks let through.
    @inlinable
    public func and(_ other: TileVisibility) -> TileVisibility {
        if self == .empty || other == .empty { return .empty }
        if self == .full && other == .full { return .full }
        return .partial
    }

    /// The visibility of the pairs that either mask lets through.
    @inlinable
    public func or(_ other: TileVisibility) -> TileVisibility {
        if self == .full || other == .full { return .full }
        if self == .empty && other == .empty { return .empty }
        return .partial
    }

    /// The visibility of the pairs the mask hides.
    @inlinable
    public var inverted: TileVisibility {
        switch self {
        case .empty: .full
        case .partial: .partial
        case .full: .empty
        }
    }
}
