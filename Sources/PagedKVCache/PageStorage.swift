#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a ``PageStorage`` could not be created.
public enum PageStorageError: Error, Equatable, CustomStringConvertible {
    /// The byte budget does not hold a single page.
    case budgetBelowOnePage(byteBudget: Int, bytesPerPage: Int)
    /// The page count is negative, zero, or above ``FreePageStack/maxCapacity``.
    case pageCountOutOfRange(Int)
    /// `pageCount × bytesPerPage` does not fit in an `Int`.
    case byteCountOverflow(pageCount: Int, bytesPerPage: Int)
    /// The operating system refused the memory.
    case mappingFailed(byteCount: Int)

    public var description: String {
        switch self {
        case .budgetBelowOnePage(let budget, let bytesPerPage):
            "a byte budget of \(budget) B holds no page of \(bytesPerPage) B"
        case .pageCountOutOfRange(let count):
            "page count must be between 1 and \(FreePageStack.maxCapacity), got \(count)"
        case .byteCountOverflow(let count, let bytesPerPage):
            "\(count) pages of \(bytesPerPage) B overflow the address space"
        case .mappingFailed(let byteCount):
            "cannot map \(byteCount) B of KV memory"
        }
    }
}

/// The keys and values of every page of a pool, for all layers: one zero-filled anonymous memory
/// mapping, made in the initializer and unmapped once in `deinit`. The operating system backs
/// it lazily, so a large budget costs resident memory only for the pages actually written: the
/// process's footprint follows the pages in use, as the paper's memory figures assume.
///
/// Pages are page-major (``PageLayout`` draws the inside of a page):
///
/// ```
///  base ─► [ page 0: bytesPerPage ][ page 1 ][ page 2 ] … [ page pageCount-1 ]
///          (aligned to `alignment`; page p starts at p × bytesPerPage)
/// ```
///
/// The memory is reachable only inside the `with…` closures; the pointers they pass must not
/// escape. The storage knows nothing of which pages are in use: that is ``PagePool``'s job.
public struct PageStorage: ~Copyable {
    /// The alignment of the first page, in bytes: a cache line, and the widest vector register.
    public static let alignment = 64

    public let layout: PageLayout
    public let pageCount: Int
    /// Bytes of the whole allocation: `pageCount × layout.bytesPerPage`.
    public let byteCount: Int

    private let base: UnsafeMutableRawPointer

    /// Maps room for `pageCount` pages of `layout`, reading as zero bytes until written.
    public init(layout: PageLayout, pageCount: Int) throws(PageStorageError) {
        guard pageCount >= 1, pageCount <= FreePageStack.maxCapacity else {
            throw .pageCountOutOfRange(pageCount)
        }
        let (byteCount, overflow) = pageCount.multipliedReportingOverflow(by: layout.bytesPerPage)
        guard !overflow else { throw .byteCountOverflow(pageCount: pageCount, bytesPerPage: layout.bytesPerPage) }
        guard let mapped = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        else { throw .mappingFailed(byteCount: byteCount) }
        self.layout = layout
        self.pageCount = pageCount
        self.byteCount = byteCount
        self.base = mapped  // page-aligned, so aligned to `alignment` too
    }

    /// Maps as many whole pages of `layout` as fit in `byteBudget` bytes.
    public init(layout: PageLayout, byteBudget: Int) throws(PageStorageError) {
        let pageCount = byteBudget / layout.bytesPerPage
        guard pageCount >= 1 else {
            throw .budgetBelowOnePage(byteBudget: byteBudget, bytesPerPage: layout.bytesPerPage)
        }
        try self.init(layout: layout, pageCount: min(pageCount, FreePageStack.maxCapacity))
    }

    deinit {
        munmap(base, byteCount)
    }

    /// Calls `body` with the bytes of every page. Element offsets from ``PageLayout`` are
    /// multiplied by `layout.elementType.byteCount` to index these bytes.
    public func withUnsafeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: byteCount))
    }

    /// Calls `body` with the bytes of every page, for writing.
    public mutating func withUnsafeMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeMutableRawBufferPointer(start: base, count: byteCount))
    }

    /// Calls `body` with every element of every page, typed: `layout.elementOffset(…)` indexes
    /// the buffer directly. `Element` must be as wide as `layout.elementType` (`Float` for `.f32`;
    /// `Float16` or its bit pattern `UInt16` for `.f16`; `Int8` or `UInt8` for `.int8`, whose
    /// row scales are the four bytes before each row).
    public func withUnsafeBufferPointer<Element, Result, Failure: Error>(
        of elementType: Element.Type,
        _ body: (UnsafeBufferPointer<Element>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let count = elementCount(of: Element.self)
        return try body(UnsafeBufferPointer(start: base.bindMemory(to: Element.self, capacity: count), count: count))
    }

    /// Calls `body` with every element of every page, typed, for writing.
    public mutating func withUnsafeMutableBufferPointer<Element, Result, Failure: Error>(
        of elementType: Element.Type,
        _ body: (UnsafeMutableBufferPointer<Element>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let count = elementCount(of: Element.self)
        return try body(
            UnsafeMutableBufferPointer(start: base.bindMemory(to: Element.self, capacity: count), count: count))
    }

    /// Copies every byte of page `source` over page `destination` (all layers, K and V).
    /// - Complexity: O(`layout.bytesPerPage`).
    public mutating func copyPage(from source: PageID, to destination: PageID) {
        copyPage(from: source, to: destination, tokenCount: layout.tokensPerPage)
    }

    /// Copies the first `tokenCount` slots of page `source` over those of `destination`, in
    /// every layer, K and V, and KV head; the other slots of `destination` are left as they are.
    ///
    /// A forked sequence's partial page needs only its written slots, and in the contiguous
    /// mode a page is a whole context (377 MB for SmolLM2 at 8,192 tokens): copying the written
    /// rows only keeps the copy, and the memory it makes resident, to what the parent wrote.
    /// - Complexity: O(`tokenCount × layout.bytesPerToken`).
    public mutating func copyPage(from source: PageID, to destination: PageID, tokenCount: Int) {
        precondition(source.index < pageCount && destination.index < pageCount, "page outside the storage")
        precondition(tokenCount >= 0 && tokenCount <= layout.tokensPerPage, "token count outside the page")
        guard source != destination, tokenCount > 0 else { return }
        let bytesPerPage = layout.bytesPerPage
        let from = base + source.index * bytesPerPage, to = base + destination.index * bytesPerPage
        guard tokenCount < layout.tokensPerPage else {
            to.copyMemory(from: from, byteCount: bytesPerPage)
            return
        }
        // Within a page, each (layer, K or V, KV head) holds its tokens' rows one after another.
        let runBytes = layout.headStride * layout.elementType.byteCount
        let usedBytes = tokenCount * layout.rowStride * layout.elementType.byteCount
        for run in 0..<(layout.layerCount * 2 * layout.kvHeadCount) {
            (to + run * runBytes).copyMemory(from: from + run * runBytes, byteCount: usedBytes)
        }
    }

    private func elementCount<Element>(of type: Element.Type) -> Int {
        precondition(
            MemoryLayout<Element>.stride == layout.elementType.byteCount,
            "\(Element.self) is not a \(layout.elementType) element")
        return byteCount / MemoryLayout<Element>.stride
    }
}
