import Synchronization

/// A lock-free LIFO stack of free page ids (a Treiber stack), safe to pop and push from any
/// thread. It is the only lock-free type of the cache: everything else has a single owner.
///
/// The links are intrusive: `next[p]` is the page below `p` on the stack, so the stack never
/// allocates after its initializer. The head packs a 32-bit generation tag above the 32-bit index
/// of the top page:
///
/// ```
///  head (Atomic<UInt64>):  [ tag: 32 bits | top page: 32 bits ]     top == 0xFFFF_FFFF: empty
///  next (one Atomic<UInt32> per page):  next[top] → next[next[top]] → … → 0xFFFF_FFFF
/// ```
///
/// Every successful pop or push increments the tag, so a pop that read `next[top]` before other
/// threads popped `top`, popped more and pushed `top` back (the ABA problem) fails its
/// compare-and-exchange instead of installing a stale `next`. The tag would have to wrap around
/// (2³² operations) during one pop's window for ABA to slip through.
///
/// The entries of `next` are atomics used with relaxed ordering: a pop may read `next[top]` while
/// a pusher that has since popped `top` rewrites it; the value read is then discarded by the
/// failing compare-and-exchange. The acquire/release pair on the head orders everything else, so
/// what a thread wrote into a page before pushing it is visible to the thread that pops it.
///
/// The stack does not know which pages are free: pushing a page twice is a caller bug it cannot
/// detect cheaply. ``PagePool`` keeps the reference counts that rule it out.
public final class FreePageStack: @unchecked Sendable {
    // @unchecked Sendable: the only mutable state is `head` and the `next` entries, all atomics;
    // `next` is allocated in init and freed in deinit, when no other reference exists.

    /// The index that marks the end of the stack. Pool sizes are below it.
    @usableFromInline static let end: UInt32 = .max

    /// The largest number of pages a stack (and so a pool) can hold.
    public static let maxCapacity = Int(UInt32.max)

    /// The number of page ids the stack can hold: ids are `0 ..< capacity`.
    public let capacity: Int

    @usableFromInline let head: Atomic<UInt64>
    @usableFromInline let next: UnsafeMutablePointer<Atomic<UInt32>>

    /// Creates a stack for page ids `0 ..< capacity`.
    ///
    /// - Parameters:
    ///   - capacity: the number of page ids, at most ``maxCapacity``.
    ///   - full: when true the stack starts with every page, and pops return `p0, p1, p2, …` in
    ///     that order; when false it starts empty.
    /// - Complexity: O(`capacity`).
    public init(capacity: Int, full: Bool) {
        precondition(capacity >= 0 && capacity <= Self.maxCapacity, "capacity \(capacity) is out of range")
        self.capacity = capacity
        self.next = .allocate(capacity: max(capacity, 1))
        for index in 0 ..< capacity {
            let below = full && index + 1 < capacity ? UInt32(index + 1) : Self.end
            (next + index).initialize(to: Atomic(below))
        }
        let top = full && capacity > 0 ? UInt32(0) : Self.end
        self.head = Atomic(UInt64(top))
    }

    deinit {
        next.deinitialize(count: capacity)
        next.deallocate()
    }

    /// Takes the page on top of the stack, or returns nil when the stack is empty.
    @inlinable
    public func pop() -> PageID? {
        var observed = head.load(ordering: .acquiring)
        while true {
            let top = UInt32(truncatingIfNeeded: observed)
            if top == Self.end { return nil }
            let below = next[Int(top)].load(ordering: .relaxed)
            let replacement = Self.pack(tag: Self.tag(of: observed) &+ 1, top: below)
            let (exchanged, original) = head.compareExchange(
                expected: observed, desired: replacement,
                successOrdering: .acquiring, failureOrdering: .acquiring)
            if exchanged { return PageID(rawValue: top) }
            observed = original
        }
    }

    /// Puts `page` on top of the stack. The page must not be on the stack already.
    @inlinable
    public func push(_ page: PageID) {
        precondition(page.index < capacity, "\(page) is outside a stack of \(capacity) pages")
        var observed = head.load(ordering: .relaxed)
        while true {
            next[page.index].store(UInt32(truncatingIfNeeded: observed), ordering: .relaxed)
            let replacement = Self.pack(tag: Self.tag(of: observed) &+ 1, top: page.rawValue)
            let (exchanged, original) = head.compareExchange(
                expected: observed, desired: replacement,
                successOrdering: .releasing, failureOrdering: .relaxed)
            if exchanged { return }
            observed = original
        }
    }

    /// True when the stack holds no page at the moment of the load (other threads may change it
    /// right after).
    @inlinable public var isEmpty: Bool {
        UInt32(truncatingIfNeeded: head.load(ordering: .acquiring)) == Self.end
    }

    @inlinable static func tag(of word: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: word >> 32) }
    @inlinable static func pack(tag: UInt32, top: UInt32) -> UInt64 { UInt64(tag) << 32 | UInt64(top) }
}

extension FreePageStack {
    /// The pages on the stack from top to bottom: the order pops would return them.
    ///
    /// Only meaningful while no other thread pops or pushes (tests, invariant checks); a walk
    /// that meets more links than the capacity (a cycle from a double push) stops there.
    /// - Complexity: O(number of pages on the stack).
    public func pagesInPopOrder() -> [PageID] {
        var pages: [PageID] = []
        var index = UInt32(truncatingIfNeeded: head.load(ordering: .acquiring))
        while index != Self.end && pages.count <= capacity {
            pages.append(PageID(rawValue: index))
            index = next[Int(index)].load(ordering: .relaxed)
        }
        return pages
    }
}
