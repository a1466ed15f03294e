/// Where the keys and values of a batch's sequences live: the one thing the kernel is generic
/// over besides the modifiers. ``PagedKV`` reads rows through each sequence's page table;
/// ``ContiguousKV`` reads them from one span per sequence. Both hand the kernel the same rows in
/// the same order, so the arithmetic, and hence the result, is the same.
public protocol KVLayout {
    associatedtype Element: KVElement
    associatedtype Rows: KVHeadRows

    /// The key and value rows of `kvHead` (in the layer this layout reads) of `sequence`.
    func rows(of sequence: AttentionSequence, kvHead: Int) -> Rows
}

/// The key and value rows of one KV head of one sequence, by position. Each row is `headSize`
/// contiguous elements (``KVElement``). Consecutive positions are adjacent (`rowByteStride`
/// apart) within a run, a page for the paged layout; runs need not be adjacent.
public protocol KVHeadRows {
    /// The start of the key row of `position`.
    func key(at position: Int) -> UnsafeRawPointer
    /// The start of the value row of `position`.
    func value(at position: Int) -> UnsafeRawPointer
    /// Bytes from one row to the next within a run.
    var rowByteStride: Int { get }
    /// How many positions from `position` on (itself included) lie in its run.
    func runLength(from position: Int) -> Int
}
