import PagedKVCache

/// Keys and values in pages of a ``PageStorage``, found through each sequence's page table
/// (``AttentionSequence/pageTable``), for one layer.
///
/// ```
///  position p ──► page table[p >> log2(tokensPerPage)] = physical page P
///  key row    = base + P·pageStride + layer·layerStride + kvHead·headStride + (p mod T)·rowStride + header
///  value row  = key row + valueStride
/// ```
///
/// Within a page a head's `T × headSize` rows are contiguous, so a tile of the kernel that falls
/// inside one page is read as one run, exactly as from contiguous memory.
public struct PagedKV<Element: KVElement>: KVLayout {
    public let base: UnsafeRawPointer
    public let layout: PageLayout
    public let layer: Int

    /// - Parameters:
    ///   - base: the first byte of the page storage (page 0).
    ///   - layout: its geometry; its element type must be `Element`'s.
    ///   - layer: the layer whose keys and values attention reads.
    public init(base: UnsafeRawPointer, layout: PageLayout, layer: Int) {
        precondition(layout.elementType == Element.kvElementType, "\(layout) does not store \(Element.self)")
        precondition((0..<layout.layerCount).contains(layer), "layer \(layer) outside \(layout)")
        self.base = base
        self.layout = layout
        self.layer = layer
    }

    @inlinable
    public func rows(of sequence: AttentionSequence, kvHead: Int) -> PagedHeadRows {
        let elementBytes = MemoryLayout<Element>.stride
        let first = layout.elementOffset(
            page: PageID(0), layer: layer, isValue: false, kvHead: kvHead, tokenInPage: 0)
        return PagedHeadRows(
            keyBase: base + first * elementBytes, pageTable: sequence.pageTable,
            pageByteStride: layout.pageStride * elementBytes,
            rowByteStride: layout.rowStride * elementBytes,
            valueByteOffset: layout.valueStride * elementBytes,
            tokensPerPageShift: layout.tokensPerPageShift)
    }
}

/// One head's rows through a page table: two shifts, a table load and two multiply-adds per
/// page run (the kernel steps by `rowByteStride` inside a page).
public struct PagedHeadRows: KVHeadRows {
    @usableFromInline let keyBase: UnsafeRawPointer
    @usableFromInline let pageTable: UnsafeBufferPointer<UInt32>
    @usableFromInline let pageByteStride: Int
    public let rowByteStride: Int
    @usableFromInline let valueByteOffset: Int
    @usableFromInline let tokensPerPageShift: Int

    @inlinable
    init(
        keyBase: UnsafeRawPointer, pageTable: UnsafeBufferPointer<UInt32>, pageByteStride: Int,
        rowByteStride: Int, valueByteOffset: Int, tokensPerPageShift: Int
    ) {
        self.keyBase = keyBase
        self.pageTable = pageTable
        self.pageByteStride = pageByteStride
        self.rowByteStride = rowByteStride
        self.valueByteOffset = valueByteOffset
        self.tokensPerPageShift = tokensPerPageShift
    }

    @inlinable @inline(__always)
    public func key(at position: Int) -> UnsafeRawPointer {
        let entry = pageTable[position &>> tokensPerPageShift]
        // A page a sliding-window group gave back: the block mask never visits its tiles.
        assert(entry != PageTable.releasedEntry, "attention read position \(position), whose page was released")
        let page = Int(entry)
        let tokenInPage = position & ((1 &<< tokensPerPageShift) &- 1)
        return keyBase + (page &* pageByteStride &+ tokenInPage &* rowByteStride)
    }

    @inlinable @inline(__always)
    public func value(at position: Int) -> UnsafeRawPointer {
        key(at: position) + valueByteOffset
    }

    /// To the end of the position's page.
    @inlinable @inline(__always)
    public func runLength(from position: Int) -> Int {
        let tokensPerPage = 1 &<< tokensPerPageShift
        return tokensPerPage &- (position & (tokensPerPage &- 1))
    }
}
