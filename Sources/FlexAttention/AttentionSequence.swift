/// One sequence's part of a packed attention batch: which query rows are its new tokens, how
/// long its cached context is, and where its keys and values are.
///
/// ```
///  packed Q rows   │ a0 a1 a2 a3 │ b7 │ c0 c1 │   (a prefills 4 tokens, b decodes, c prefills 2)
///  queryRows       │ 0..<4       │4..<5│ 5..<7 │
///  kvLength        │ 4           │ 8   │ 2     │
///  positions       │ 0  1  2  3  │ 7   │ 0  1  │   = kvLength - queryRows.count + row
/// ```
///
/// The new tokens' keys and values must already be in their slots (``KVWriter``): a query sees
/// positions `0 ..< kvLength`, as its mask allows.
///
/// Holds a pointer, so it lives only as long as the page table it points into (one forward step).
public struct AttentionSequence {
    /// The rows of the packed query (and output) buffer that belong to this sequence.
    public var queryRows: Range<Int>
    /// Positions cached for this sequence, the new ones included.
    public var kvLength: Int
    /// Physical page of each logical page: entry `i` holds positions `i·T ..< (i+1)·T`. For
    /// ``ContiguousKV`` a single entry, the sequence's one page.
    public var pageTable: UnsafeBufferPointer<UInt32>

    public init(queryRows: Range<Int>, kvLength: Int, pageTable: UnsafeBufferPointer<UInt32>) {
        precondition(queryRows.count <= kvLength, "\(queryRows.count) new tokens but only \(kvLength) cached")
        self.queryRows = queryRows
        self.kvLength = kvLength
        self.pageTable = pageTable
    }

    /// The position of this sequence's first new token.
    @inlinable public var firstQueryPosition: Int { kvLength - queryRows.count }
}
