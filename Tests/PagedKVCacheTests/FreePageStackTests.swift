import Foundation
import Synchronization
import Testing

@testable import PagedKVCache

@Suite struct FreePageStackTests {
    @Test func fullStackPopsInIndexOrderThenReusesTheLastPushedFirst() {
        let stack = FreePageStack(capacity: 4, full: true)
        #expect(stack.pagesInPopOrder() == pages(0, 1, 2, 3))
        #expect([stack.pop(), stack.pop(), stack.pop(), stack.pop()] == pages(0, 1, 2, 3))
        #expect(stack.pop() == nil)
        #expect(stack.isEmpty)
        stack.push(PageID(2))
        stack.push(PageID(0))
        stack.push(PageID(3))
        #expect(stack.pagesInPopOrder() == pages(3, 0, 2))
        #expect([stack.pop(), stack.pop(), stack.pop()] == pages(3, 0, 2))
        #expect(stack.pop() == nil)
    }

    @Test func emptyStackPopsNilUntilPushed() {
        let stack = FreePageStack(capacity: 3, full: false)
        #expect(stack.pop() == nil)
        #expect(stack.pagesInPopOrder() == [])
        stack.push(PageID(1))
        #expect(stack.pop() == PageID(1))
        #expect(stack.pop() == nil)
        #expect(FreePageStack(capacity: 0, full: true).pop() == nil)
    }

    /// Threads pop a few pages, mark each held (an atomic exchange that would see a page held
    /// twice), unmark and push them back in another order, over a small pool so that the head is
    /// contended and ABA windows are common. At the end every page is on the stack exactly once.
    @Test func concurrentPopsAndPushesNeverDoubleHandOrLoseAPage() {
        let threadCount = 4
        let pageCount = 16
        let operationsPerThread = 300_000  // pops plus pushes: 1.2 million in all
        let stack = FreePageStack(capacity: pageCount, full: true)
        let ledger = HoldLedger(pageCount: pageCount)

        runOnThreads(threadCount) { thread in
            var held: [PageID] = []
            held.reserveCapacity(3)
            var operations = 0
            while operations < operationsPerThread {
                let want = 1 + (operations + thread) % 3
                while held.count < want, let page = stack.pop() {
                    if !ledger.take(page) { ledger.recordDoubleHand() }
                    held.append(page)
                    operations += 1
                }
                // Push back in an order that alternates, so the stack's order keeps changing.
                if thread % 2 == 0 { held.reverse() }
                for page in held {
                    ledger.give(page)
                    stack.push(page)
                    operations += 1
                }
                held.removeAll(keepingCapacity: true)
            }
            ledger.addOperations(operations)
        }

        #expect(ledger.doubleHands == 0)
        #expect(ledger.operations >= 1_000_000)
        let remaining = stack.pagesInPopOrder()
        #expect(remaining.count == pageCount)
        #expect(Set(remaining) == Set((0 ..< pageCount).map(PageID.init)))
    }
}

/// Runs `body(0 ..< count)` on `count` threads of their own (not a pool's, which might run them
/// one after another) and returns when all have finished.
private func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let finished = DispatchSemaphore(value: 0)
    for index in 0 ..< count {
        Thread {
            body(index)
            finished.signal()
        }.start()
    }
    for _ in 0 ..< count { finished.wait() }
}

/// Which pages some thread holds, as atomics, so that the test itself has no data race.
private final class HoldLedger: Sendable {
    private let flags: [AtomicFlag]
    private let doubleHandCount = Atomic<Int>(0)
    private let operationCount = Atomic<Int>(0)

    init(pageCount: Int) { flags = (0 ..< pageCount).map { _ in AtomicFlag() } }

    /// Marks `page` held; false when it was held already.
    func take(_ page: PageID) -> Bool { !flags[page.index].value.exchange(true, ordering: .acquiringAndReleasing) }
    func give(_ page: PageID) { flags[page.index].value.store(false, ordering: .releasing) }
    func recordDoubleHand() { doubleHandCount.add(1, ordering: .relaxed) }
    func addOperations(_ count: Int) { operationCount.add(count, ordering: .relaxed) }
    var doubleHands: Int { doubleHandCount.load(ordering: .acquiring) }
    var operations: Int { operationCount.load(ordering: .acquiring) }
}

/// One atomic flag on the heap, so that an array can hold many.
private final class AtomicFlag: Sendable {
    let value = Atomic<Bool>(false)
}
