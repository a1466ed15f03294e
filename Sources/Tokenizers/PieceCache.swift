import Synchronization

/// Remembers the tokens of pieces already encoded. Natural text repeats its words, so most
/// pieces are found here and skip the merge loop.
///
/// Shared by every caller of one tokenizer (a server encodes from many tasks), hence the mutex;
/// a lookup holds it for one dictionary access. The cache is bounded: when it holds `capacity`
/// pieces it is emptied and refills with what is in use now, which is simpler than an LRU and
/// just as good for a working set that fits.
final class PieceCache: Sendable {
    let capacity: Int
    private let entries: Mutex<[String: [Int32]]>

    init(capacity: Int) {
        self.capacity = capacity
        self.entries = Mutex([:])
    }

    func tokens(for piece: String) -> [Int32]? {
        entries.withLock { $0[piece] }
    }

    func insert(_ tokens: [Int32], for piece: String) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[piece] = tokens
        }
    }
}
