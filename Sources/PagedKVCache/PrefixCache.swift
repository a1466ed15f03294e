/// Full pages remembered by the token ids they hold, so that a new sequence whose prompt starts
/// with the same tokens reuses their keys and values instead of computing them again.
///
/// A page's hash chains over everything before it:
///
/// ```
///  rootHash(salt) ─► hash(root, tokens of page 0) = h0 ─► hash(h0, tokens of page 1) = h1 ─► …
/// ```
///
/// so equal hashes mean equal prefixes, up to collisions. Collisions can never hand out wrong
/// keys and values: each cached page also stores its own token ids and the identity of what it
/// hangs from (its ``Parent``: the salt for a first page, else the cached page before it and that
/// page's incarnation), and a match requires all three to be equal. By induction from the salt,
/// a matched page holds exactly the queried prefix. A page's incarnation changes whenever it
/// leaves the cache, so a page reused for other tokens can never pass for its old self.
///
/// Only full pages are cached. A cached page is either referenced by some page table or
/// *evictable*: its reference count fell to zero and it waits in a least-recently-released list,
/// the oldest evicted first, lazily, only when ``PagePool`` finds its free stack empty. The list
/// is intrusive (two index arrays), so caching, hitting and evicting never allocate.
///
/// ``PagePool`` drives this type and keeps it consistent with the reference counts; the public
/// surface is read-only.
public struct PrefixCache: ~Copyable {
    /// What a cached page hangs from: the salt (first page of a sequence) or the cached page
    /// before it together with that page's incarnation.
    public struct Parent: Hashable, Sendable {
        @usableFromInline static let rootPage: UInt32 = .max
        public let page: UInt32
        public let key: UInt64
        /// The layer group of a root (pages of different groups hold different layers, so they
        /// never share a chain); 0 for every other parent, a page, which is in one group only.
        public var group: UInt32 = 0

        init(page: UInt32, key: UInt64, group: UInt32 = 0) {
            self.page = page
            self.key = key
            self.group = group
        }

        /// The parent of a sequence's first page in layer group `group`.
        public static func root(salt: UInt64, group: Int = 0) -> Parent {
            Parent(page: rootPage, key: salt, group: UInt32(group))
        }
        public var isRoot: Bool { page == Self.rootPage }
    }

    @usableFromInline static let none: UInt32 = .max

    /// Tokens in a page; zero when caching is disabled.
    public let tokensPerPage: Int
    public var isEnabled: Bool { tokensPerPage > 0 }

    /// The cached page of each chained hash.
    var pageOfHash: [UInt64: UInt32] = [:]
    // Per page, meaningful while `isCached[page]`:
    var isCached: [Bool] = []
    var hashOfPage: [UInt64] = []
    var parentOfPage: [Parent] = []
    var tokenIDs: [UInt32] = []  // pageCount × tokensPerPage
    // Per page, always: bumped each time the page leaves the cache.
    var incarnation: [UInt32] = []
    // The evictable pages, least recently released at `oldest`.
    var newer: [UInt32] = []
    var older: [UInt32] = []
    var oldest: UInt32 = none
    var newest: UInt32 = none
    /// Cached pages with no reference: the eviction candidates.
    public internal(set) var evictablePageCount = 0

    /// Creates a cache for pages `0 ..< pageCount` of `tokensPerPage` tokens; `tokensPerPage == 0`
    /// disables caching (nothing is stored, nothing ever hits).
    /// - Complexity: O(`pageCount × tokensPerPage`) to size the per-page arrays.
    public init(pageCount: Int, tokensPerPage: Int) {
        precondition(tokensPerPage >= 0 && pageCount >= 0)
        self.tokensPerPage = tokensPerPage
        guard tokensPerPage > 0 else { return }
        pageOfHash.reserveCapacity(pageCount)
        isCached = Array(repeating: false, count: pageCount)
        hashOfPage = Array(repeating: 0, count: pageCount)
        parentOfPage = Array(repeating: .root(salt: 0), count: pageCount)
        tokenIDs = Array(repeating: 0, count: pageCount * tokensPerPage)
        incarnation = Array(repeating: 0, count: pageCount)
        newer = Array(repeating: Self.none, count: pageCount)
        older = Array(repeating: Self.none, count: pageCount)
    }

    /// Pages in the cache, referenced or evictable.
    public var cachedPageCount: Int { pageOfHash.count }

    /// True when `page` is in the cache (referenced or evictable).
    public func contains(_ page: PageID) -> Bool { isEnabled && isCached[page.index] }

    /// The identity `page` gives the page after it.
    func identity(of page: PageID) -> Parent { Parent(page: page.rawValue, key: UInt64(incarnation[page.index])) }

    /// True when `parent` still names what it named when it was taken: the root, or a page that
    /// has stayed in the cache since.
    func isCurrent(_ parent: Parent) -> Bool {
        parent.isRoot || isCached[Int(parent.page)] && UInt64(incarnation[Int(parent.page)]) == parent.key
    }

    // MARK: Lookup and insertion

    /// The cached page whose hash is `hash`, parent is `parent` and tokens are `tokens`, if any.
    func page(hash: UInt64, parent: Parent, tokens: UnsafeBufferPointer<UInt32>) -> PageID? {
        guard let raw = pageOfHash[hash], parentOfPage[Int(raw)] == parent,
            storedTokensEqual(page: Int(raw), tokens)
        else { return nil }
        return PageID(rawValue: raw)
    }

    /// True when some page is cached under `hash`, whatever its content.
    func containsHash(_ hash: UInt64) -> Bool { pageOfHash[hash] != nil }

    /// Caches `page` (referenced, full, holding `tokens`) under `hash`. No page may be cached
    /// under `hash` already.
    mutating func insert(_ page: PageID, hash: UInt64, parent: Parent, tokens: UnsafeBufferPointer<UInt32>) {
        precondition(isEnabled && tokens.count == tokensPerPage, "only full pages are cached")
        precondition(!isCached[page.index] && pageOfHash[hash] == nil, "\(page) or its hash is cached already")
        pageOfHash[hash] = page.rawValue
        isCached[page.index] = true
        hashOfPage[page.index] = hash
        parentOfPage[page.index] = parent
        let start = page.index * tokensPerPage
        tokenIDs.withUnsafeMutableBufferPointer { stored in
            for offset in 0 ..< tokensPerPage { stored[start + offset] = tokens[offset] }
        }
    }

    /// Drops `page` from the cache (not from the evictable list: the caller does that first).
    mutating func remove(_ page: PageID) {
        precondition(isCached[page.index] && !isEvictable(page), "\(page) is not a referenced cached page")
        pageOfHash[hashOfPage[page.index]] = nil
        isCached[page.index] = false
        incarnation[page.index] &+= 1
    }

    private func storedTokensEqual(page: Int, _ tokens: UnsafeBufferPointer<UInt32>) -> Bool {
        guard tokens.count == tokensPerPage else { return false }
        let start = page * tokensPerPage
        return tokenIDs.withUnsafeBufferPointer { stored in
            for offset in 0 ..< tokensPerPage where stored[start + offset] != tokens[offset] { return false }
            return true
        }
    }
}
