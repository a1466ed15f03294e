/// The merge loop of byte-level BPE over one piece, with its scratch memory.
///
/// A piece starts as one symbol per byte (the byte's token). The lowest-ranked merge among all
/// adjacent pairs is applied first, the leftmost on a tie, until no adjacent pair has a merge:
/// the algorithm of Hugging Face `tokenizers` and llama.cpp. Symbols form a doubly linked list
/// over the byte positions and the candidate pairs sit in a binary min-heap ordered by (rank,
/// position); entries made stale by a neighbouring merge are skipped when popped. That is
/// O(n log n) in the piece length, so a pathological 100 KB run of spaces or a base64 blob costs
/// no more than its size.
///
/// One encoder is made per `encode` call and reused for all its pieces, so the arrays stop
/// allocating once they have grown to the longest piece.
struct BytePairEncoder {
    /// A pair of adjacent symbols that a merge could join, as it was when pushed.
    private struct Candidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        var result: Int32

        @inline(__always) func precedes(_ other: Candidate) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    /// Token id of each symbol; -1 once the symbol has been merged into its left neighbour.
    private var ids: [Int32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap: [Candidate] = []

    /// Appends the tokens of `piece` to `output`. `byteTokenIDs[b]` is the token of byte `b`, or
    /// -1 if the vocabulary has none: such bytes are dropped before merging (so their
    /// neighbours may merge), as Hugging Face does for a BPE model without an unknown token.
    mutating func encode(
        _ piece: UnsafeBufferPointer<UInt8>, byteTokenIDs: [Int32], merges: MergeTable,
        into output: inout [Int32]
    ) {
        ids.removeAll(keepingCapacity: true)
        for byte in piece {
            let id = byteTokenIDs[Int(byte)]
            if id >= 0 { ids.append(id) }
        }
        let count = ids.count
        if count <= 1 {
            output.append(contentsOf: ids)
            return
        }
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<Int32(count) {
            previous.append(i - 1)
            next.append(i + 1 < count ? i + 1 : -1)
        }
        for i in 0..<Int32(count - 1) { pushCandidate(left: i, right: i + 1, merges: merges) }

        while let candidate = popMin() {
            let left = Int(candidate.left), right = Int(candidate.right)
            guard ids[left] == candidate.leftID, next[left] == candidate.right,
                  ids[right] == candidate.rightID else { continue }
            ids[left] = candidate.result
            ids[right] = -1
            let after = next[right]
            next[left] = after
            if after >= 0 { previous[Int(after)] = candidate.left }
            if previous[left] >= 0 { pushCandidate(left: previous[left], right: candidate.left, merges: merges) }
            if after >= 0 { pushCandidate(left: candidate.left, right: after, merges: merges) }
        }
        var symbol: Int32 = 0
        while symbol >= 0 {
            output.append(ids[Int(symbol)])
            symbol = next[Int(symbol)]
        }
    }

    private mutating func pushCandidate(left: Int32, right: Int32, merges: MergeTable) {
        let leftID = ids[Int(left)], rightID = ids[Int(right)]
        guard let merge = merges.merge(leftID, rightID) else { return }
        heap.append(Candidate(rank: merge.rank, left: left, right: right,
                              leftID: leftID, rightID: rightID, result: merge.result))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popMin() -> Candidate? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let leftChild = 2 * parent + 1
            guard leftChild < heap.count else { break }
            var smallest = leftChild
            if leftChild + 1 < heap.count, heap[leftChild + 1].precedes(heap[leftChild]) { smallest = leftChild + 1 }
            guard heap[smallest].precedes(heap[parent]) else { break }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
        return top
    }
}
