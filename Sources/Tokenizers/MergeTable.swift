/// The BPE merge rules keyed by the pair of token ids they join: BPE never needs token strings
/// while encoding, only "may these two neighbours merge, how urgently, and into what".
struct MergeTable: Sendable {
    /// One rule: `rank` is its index in the merges list (lower merges first), `result` the id
    /// of the joined token.
    struct Merge: Sendable, Equatable {
        var rank: Int32
        var result: Int32
    }

    private let merges: [UInt64: Merge]

    /// Parses `"left right"` entries, rank = index. Both halves and their concatenation must be
    /// vocabulary tokens (Hugging Face refuses such files too). A pair listed twice keeps its
    /// first, lower rank, as llama.cpp does.
    init(merges entries: [String], idsByToken: [String: Int32]) throws(TokenizerError) {
        var merges = [UInt64: Merge](minimumCapacity: entries.count)
        for (rank, entry) in entries.enumerated() {
            let parts = entry.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw .malformedMerge(rank: rank, entry: entry)
            }
            let left = String(parts[0]), right = String(parts[1])
            func id(_ token: String) throws(TokenizerError) -> Int32 {
                guard let id = idsByToken[token] else {
                    throw .mergeTokenNotInVocabulary(rank: rank, entry: entry, token: token)
                }
                return id
            }
            let key = Self.key(try id(left), try id(right))
            let result = try id(left + right)
            if merges[key] == nil {
                merges[key] = Merge(rank: Int32(truncatingIfNeeded: rank), result: result)
            }
        }
        self.merges = merges
    }

    var count: Int { merges.count }

    /// The rule that joins `left` followed by `right`, if any.
    @inline(__always) func merge(_ left: Int32, _ right: Int32) -> Merge? {
        merges[Self.key(left, right)]
    }

    @inline(__always) private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }
}
