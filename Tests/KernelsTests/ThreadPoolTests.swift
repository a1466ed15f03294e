import Kernels
import Synchronization
import Testing

struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 8])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 2, 7, 100, 1000] {
            // Each index is written by the one call that runs it, so plain memory is race-free.
            let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
            defer { hits.deallocate() }
            hits.initialize(repeating: 0)
            for _ in 0..<50 {
                pool.parallelFor(count) { i in hits[i] += 1 }
            }
            #expect(hits.prefix(count).allSatisfy { $0 == 50 }, "\(count) indices on \(threads) threads")
        }
    }

    @Test func rangesCoverEverythingOnce() {
        let pool = ThreadPool(threadCount: 2)
        for (count, granularity) in [(0, 4), (1, 4), (13, 4), (576, 4), (49152, 32)] {
            let covered = Atomic<Int>(0)
            let misaligned = Atomic<Int>(0)
            pool.parallelRanges(count, granularity: granularity, chunks: 16) { range in
                _ = covered.add(range.count, ordering: .relaxed)
                if range.lowerBound % granularity != 0 { _ = misaligned.add(1, ordering: .relaxed) }
            }
            #expect(covered.load(ordering: .relaxed) == count)
            #expect(misaligned.load(ordering: .relaxed) == 0)
        }
    }

    @Test func nestedAndConcurrentLoopsRunSerially() async {
        let pool = ThreadPool(threadCount: 2)
        final class Counter: Sendable { let value = Atomic<Int>(0) }
        let total = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<100 {
                        pool.parallelFor(10) { _ in
                            pool.parallelFor(3) { _ in _ = total.value.add(1, ordering: .relaxed) }
                        }
                    }
                }
            }
        }
        #expect(total.value.load(ordering: .relaxed) == 4 * 100 * 10 * 3)
    }
}
