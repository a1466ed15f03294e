/// What ``KVCacheManager`` keeps per live sequence. Released sequences leave their state in a
/// vacant slot, emptied but with its storage, for the next sequence to reuse without allocating.
struct SequenceState {
    var table: PageTable
    /// The token id of every position with a slot (kept only when prefix caching is on: the
    /// tokens of a page are hashed when it fills).
    var tokens: [UInt32]
    /// Positions whose keys and values are written: `0 ..< computedTokenCount`.
    var computedTokenCount = 0
    /// Progress through the prefix cache's hash chain.
    var chain = PrefixCache.Chain(salt: 0)

    init(tokensPerPage: Int, pageCapacity: Int, tokenCapacity: Int) {
        table = PageTable(tokensPerPage: tokensPerPage, pageCapacity: pageCapacity)
        tokens = []
        tokens.reserveCapacity(tokenCapacity)
    }

    /// Empties the state for reuse, keeping its storage.
    mutating func removeAll() {
        table.removeAll()
        tokens.removeAll(keepingCapacity: true)
        computedTokenCount = 0
        chain = PrefixCache.Chain(salt: 0)
    }
}
