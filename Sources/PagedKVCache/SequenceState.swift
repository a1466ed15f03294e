/// What ``KVCacheManager`` keeps per live sequence. Released sequences leave their state in a
/// vacant slot, emptied but with its storage, for the next sequence to reuse without allocating.
struct SequenceState {
    /// One page table per layer group (``KVLayerGroups``), all with the same token count.
    var tables: [PageTable]
    /// The token id of every position with a slot (kept only when prefix caching is on: the
    /// tokens of a page are hashed when it fills).
    var tokens: [UInt32]
    /// Positions whose keys and values are written: `0 ..< computedTokenCount`.
    var computedTokenCount = 0
    /// Progress through the prefix cache's hash chain, per layer group.
    var chains: [PrefixCache.Chain]
    /// The salt the sequence's chains start from.
    var salt: UInt64 = 0

    init(tokensPerPage: Int, groupCount: Int, pageCapacity: Int, tokenCapacity: Int) {
        tables = (0..<groupCount).map { _ in PageTable(tokensPerPage: tokensPerPage, pageCapacity: pageCapacity) }
        tokens = []
        tokens.reserveCapacity(tokenCapacity)
        chains = (0..<groupCount).map { PrefixCache.Chain(salt: 0, group: $0) }
    }

    /// The table of the first group: every group's token count and page count.
    var table: PageTable {
        _read { yield tables[0] }
    }

    /// Empties the state for reuse, keeping its storage.
    mutating func removeAll() {
        for g in tables.indices {
            tables[g].removeAll()
            chains[g] = PrefixCache.Chain(salt: 0, group: g)
        }
        tokens.removeAll(keepingCapacity: true)
        computedTokenCount = 0
        salt = 0
    }
}
