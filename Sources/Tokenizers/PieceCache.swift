import Locking

/// Remembers the tokens of pieces already encoded. Natural text repeats its words, so most
/// pieces are found here and skip the merge loop.
///
/// Shared by every caller of one tokenizer (a server encodes from many tasks), hence the mutex;
/// a lookup holds it for one dictionary access. The cache is bounded: when it holds `capacity`
/// pieces it is emptied and refills with what is in use now, which is simpler than an LRU and
/// just as good for a working set that fits. Pieces longer than ``maxPieceBytes`` are not kept:
/// words repeat, a megabyte of one hostile "word" does not, and holding it would let one
/// request pin `capacity` times its size.
final class PieceCache: Sendable {
    let capacity: Int
    static let maxPieceBytes = 128
    private let entries: Locked<[String: [Int32]]>

    init(capacity: Int) {
        self.capacity = capacity
        self.entries = Locked([:])
    }

    func tokens(for piece: String) -> [Int32]? {
        entries.withLock { $0[piece] }
    }

    func insert(_ tokens: [Int32], for piece: String) {
        guard piece.utf8.count <= Self.maxPieceBytes else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[piece] = tokens
        }
    }
}
