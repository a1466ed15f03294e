import PagedKVCache

/// Keys and values in one contiguous span per sequence: the baseline the paper compares
/// against, and the architecture's `--kv contiguous` mode. It is the paged layout with a single
/// page per sequence as long as its context (`tokensPerPage >= kvLength`), so the storage, the
/// writer and the arithmetic are shared with ``PagedKV``; only the row lookup skips the table.
///
/// ```
///  sequence s ──► its one page P = pageTable[0]
///  key row of position p = base + P·pageStride + layer·layerStride + kvHead·headStride + p·rowStride + header
/// ```
public struct ContiguousKV<Element: KVElement>: KVLayout {
    /// The same storage, layout and layer, seen through page tables.
    public let paged: PagedKV<Element>

    public init(base: UnsafeRawPointer, layout: PageLayout, layer: Int) {
        paged = PagedKV(base: base, layout: layout, layer: layer)
    }

    @inlinable
    public func rows(of sequence: AttentionSequence, kvHead: Int) -> ContiguousHeadRows {
        precondition(
            sequence.kvLength <= paged.layout.tokensPerPage && !sequence.pageTable.isEmpty,
            "a contiguous sequence is one page holding all \(sequence.kvLength) positions")
        // Position 0 through the table is the start of the sequence's span.
        let rows = paged.rows(of: sequence, kvHead: kvHead)
        return ContiguousHeadRows(keyBase: rows.key(at: 0), rowByteStride: rows.rowByteStride,
                                  valueByteOffset: rows.valueByteOffset)
    }
}

/// One head's rows in one span.
public struct ContiguousHeadRows: KVHeadRows {
    @usableFromInline let keyBase: UnsafeRawPointer
    public let rowByteStride: Int
    @usableFromInline let valueByteOffset: Int

    @inlinable
    init(keyBase: UnsafeRawPointer, rowByteStride: Int, valueByteOffset: Int) {
        self.keyBase = keyBase
        self.rowByteStride = rowByteStride
        self.valueByteOffset = valueByteOffset
    }

    @inlinable @inline(__always)
    public func key(at position: Int) -> UnsafeRawPointer { keyBase + position &* rowByteStride }

    @inlinable @inline(__always)
    public func value(at position: Int) -> UnsafeRawPointer { keyBase + (position &* rowByteStride &+ valueByteOffset) }

    /// One run: the whole sequence.
    @inlinable @inline(__always)
    public func runLength(from position: Int) -> Int { .max }
}
