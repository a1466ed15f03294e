/// The index of one page in a ``PageStorage`` pool. Page tables store the raw 32-bit value.
public struct PageID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ index: Int) { self.rawValue = UInt32(truncatingIfNeeded: index) }
    /// The page's index as an `Int`, for addressing.
    @inlinable public var index: Int { Int(rawValue) }
    @inlinable public static func < (a: PageID, b: PageID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "p\(rawValue)" }
}

/// One generation stream. A request may fork several sequences (n > 1 samples).
public struct SequenceID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public static func < (a: SequenceID, b: SequenceID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "s\(rawValue)" }
}
