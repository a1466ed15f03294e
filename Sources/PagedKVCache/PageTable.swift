/// The pages of one sequence, in position order: entry `i` holds the keys and values of positions
/// `i × tokensPerPage ..< (i + 1) × tokensPerPage`. Entries are raw 32-bit page ids, so attention
/// kernels can read them straight from ``withUnsafeEntries(_:)``.
///
/// ```
///  entries:  [ p7 ][ p2 ][ p9 ]          tokensPerPage = 4, tokenCount = 10
///  positions: 0…3   4…7   8…9 (slots 36, 37; slots 38, 39 reserved for the next tokens)
///  slot(at: 9) = 9 × 4 + (9 mod 4) = 37
/// ```
///
/// A table is append-only while its sequence lives: pages are added at the end and the token
/// count only grows, so a slot, once handed out, keeps meaning the same place. The one exception
/// is a sliding-window layer group's table: its leading pages, once no future query can see
/// them, are given back (``releaseLeadingPage()``); their entries become ``releasedEntry``, a
/// sentinel that addresses no page (attention never looks them up: its block mask skips the
/// tiles outside every query's window).
public struct PageTable: Sendable, Hashable, CustomStringConvertible {
    public let tokensPerPage: Int
    /// log2(tokensPerPage).
    @usableFromInline let tokensPerPageShift: Int

    @usableFromInline var entries: [UInt32]
    /// Positions that have a slot: `0 ..< tokenCount`.
    public private(set) var tokenCount: Int
    /// Leading entries given back: `0 ..< releasedPageCount` are ``releasedEntry``.
    public private(set) var releasedPageCount = 0

    /// The entry of a page given back: no page has this id (``FreePageStack`` holds fewer).
    public static let releasedEntry = UInt32.max

    /// Creates an empty table. `pageCapacity` pages can be appended before the table's storage
    /// grows; reserve the longest sequence's pages so that appends never allocate.
    public init(tokensPerPage: Int, pageCapacity: Int = 0) {
        precondition(
            tokensPerPage > 0 && tokensPerPage & (tokensPerPage - 1) == 0,
            "tokensPerPage must be a power of two, got \(tokensPerPage)")
        self.tokensPerPage = tokensPerPage
        self.tokensPerPageShift = tokensPerPage.trailingZeroBitCount
        self.entries = []
        self.tokenCount = 0
        entries.reserveCapacity(pageCapacity)
    }

    /// The number of entries (logical pages), released ones included.
    @inlinable public var pageCount: Int { entries.count }

    /// The pages the table still holds: `pageCount − releasedPageCount`.
    @inlinable public var heldPageCount: Int { entries.count - releasedPageCount }

    /// Positions the pages hold: `pageCount × tokensPerPage`.
    @inlinable public var tokenCapacity: Int { entries.count << tokensPerPageShift }

    /// Positions the last page still has room for.
    @inlinable public var freeTokenCount: Int { tokenCapacity - tokenCount }

    /// Pages filled to the last slot: `tokenCount / tokensPerPage`.
    @inlinable public var fullPageCount: Int { tokenCount >> tokensPerPageShift }

    /// The page at `pageIndex` (0-based, in position order).
    @inlinable public subscript(pageIndex: Int) -> PageID { PageID(rawValue: entries[pageIndex]) }

    /// The last page, or nil when the table is empty.
    @inlinable public var lastPage: PageID? { entries.last.map(PageID.init(rawValue:)) }

    /// The pages in position order (for a table with released pages, the ones it still holds:
    /// ``heldPages``).
    public var pages: [PageID] {
        precondition(releasedPageCount == 0, "the table has released pages: read heldPages")
        return entries.map(PageID.init(rawValue:))
    }

    /// The pages still held, in position order (entries `releasedPageCount ..< pageCount`).
    public var heldPages: [PageID] { entries[releasedPageCount...].map(PageID.init(rawValue:)) }

    /// The slot of `position`: `page × tokensPerPage + position mod tokensPerPage`, the index
    /// ``PageLayout/elementOffset(slot:layer:isValue:kvHead:)`` takes.
    @inlinable
    public func slot(at position: Int) -> Int {
        precondition(position >= 0 && position < tokenCount, "position \(position) is outside 0..<\(tokenCount)")
        precondition(position >> tokensPerPageShift >= releasedPageCount, "position \(position) is in a released page")
        return Int(entries[position >> tokensPerPageShift]) << tokensPerPageShift | position & (tokensPerPage - 1)
    }

    /// Calls `body` with the raw page ids, in position order.
    @inlinable
    public func withUnsafeEntries<Result, Failure: Error>(
        _ body: (UnsafeBufferPointer<UInt32>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try entries.withUnsafeBufferPointer(body)
    }

    /// Pages needed to hold `additionalTokenCount` more positions.
    @inlinable
    public func pageCountNeeded(forAppending additionalTokenCount: Int) -> Int {
        let excess = additionalTokenCount - freeTokenCount
        return excess <= 0 ? 0 : (excess + tokensPerPage - 1) >> tokensPerPageShift
    }

    // MARK: Appending

    /// Adds `page` after the last page.
    @inlinable
    public mutating func append(_ page: PageID) {
        entries.append(page.rawValue)
    }

    /// Gives the next `count` positions their slots. The pages must already hold them.
    public mutating func appendTokens(_ count: Int) {
        precondition(count >= 0 && tokenCount + count <= tokenCapacity, "not enough pages for \(count) more tokens")
        tokenCount += count
    }

    /// Makes room for `pageCount` pages in all, so that appends up to it do not allocate.
    public mutating func reserveCapacity(pageCount: Int) {
        entries.reserveCapacity(pageCount)
    }

    /// Gives back the first page still held: its entry becomes ``releasedEntry``. Returns it.
    /// Only a full page may go (a partial page is still written).
    mutating func releaseLeadingPage() -> PageID {
        precondition(releasedPageCount < fullPageCount, "only full pages are released")
        let page = PageID(rawValue: entries[releasedPageCount])
        entries[releasedPageCount] = Self.releasedEntry
        releasedPageCount += 1
        return page
    }

    /// Marks the first `count` entries, just appended and never held by this table, released
    /// (a prefix hit whose first pages lie before the window of the sequence's first query).
    mutating func markLeadingEntriesReleased(_ count: Int) {
        precondition(releasedPageCount == 0 && count <= entries.count, "released entries lead the table")
        for index in 0..<count { entries[index] = Self.releasedEntry }
        releasedPageCount = count
    }

    /// Appends `count` released entries (a fork or a prefix hit that starts past them).
    mutating func appendReleased(_ count: Int) {
        precondition(releasedPageCount == entries.count, "released entries lead the table")
        for _ in 0..<count { entries.append(Self.releasedEntry) }
        releasedPageCount += count
    }

    /// Empties the table for reuse by another sequence, keeping its storage.
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        tokenCount = 0
        releasedPageCount = 0
    }

    public var description: String {
        "PageTable(\(tokenCount) tokens in \(heldPages)\(releasedPageCount > 0 ? ", \(releasedPageCount) released" : ""))"
    }
}
