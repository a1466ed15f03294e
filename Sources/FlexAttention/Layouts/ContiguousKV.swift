import PagedKVCache

/// Keys and values in one contiguous span per sequence: the baseline the paper compares
/// against, and the architecture's `--kv contiguous` mode. It is the paged layout with a single
/// page per sequence as long as its context (`tokensPerPage >= kvLength`), so the storage, the
/// writer and the arithmetic are shared with ``PagedKV``; only the row lookup skips the table.
///
/// ```
///  sequence s ──► its one page P = pageTable[0]
///  key row of position p = base + P·pageStride + layer·layerStride + kvHead·headStride + p·headSize
/// ```
public struct ContiguousKV<Element: KVElement>: KVLayout {
    public let base: UnsafeRawPointer
    public let layout: PageLayout
    public let layer: Int

    public init(base: UnsafeRawPointer, layout: PageLayout, layer: Int) {
        precondition(layout.elementType == Element.kvElementType, "\(layout) does not store \(Element.self)")
        precondition((0..<layout.layerCount).contains(layer), "layer \(layer) outside \(layout)")
        self.base = base
        self.layout = layout
        self.layer = layer
    }

    @inlinable
    public func rows(of sequence: AttentionSequence, kvHead: Int) -> ContiguousHeadRows {
        precondition(
            sequence.kvLength <= layout.tokensPerPage && !sequence.pageTable.isEmpty,
            "a contiguous sequence is one page holding all \(sequence.kvLength) positions")
        let elementBytes = MemoryLayout<Element>.stride
        let first = layout.elementOffset(
            page: PageID(rawValue: sequence.pageTable[0]), layer: layer, isValue: false, kvHead: kvHead,
            tokenInPage: 0)
        return ContiguousHeadRows(
            keyBase: base + first * elementBytes, rowByteStride: layout.headSize * elementBytes,
            valueByteOffset: layout.valueStride * elementBytes)
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
