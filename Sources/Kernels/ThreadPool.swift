import CKernels
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small fork-join pool for data-parallel loops over the cores.
///
/// `parallelFor(count)` runs `body(i)` for every `i` in `0..<count`, handing indices out through
/// one atomic counter, and the calling thread works too (so a pool of `n` threads starts `n - 1`
/// workers). Idle workers spin for a short while after a loop (a decode step issues hundreds of
/// loops back to back, and waking a sleeping thread costs tens of microseconds) and then block on
/// a condition variable, so an idle engine burns no CPU.
///
/// Built not to collapse on an oversubscribed machine: a worker joins a loop only while the loop
/// is open, and the caller closes it as soon as it has run out of indices, so a worker that was
/// descheduled and wakes late simply skips the loop instead of making the caller wait for it; the
/// caller waits only for workers that actually took indices, spinning briefly and then yielding
/// its core to them.
///
/// One loop runs at a time; a `parallelFor` issued while another is running (from another
/// thread, or nested inside a body) runs serially on the caller.
public final class ThreadPool: @unchecked Sendable {
    // @unchecked: the job fields are written under `mutex` before `generation` is bumped and read
    // under `mutex` by workers; everything else shared is atomic.

    /// A pool with one thread per core (honouring `PAGEDFLEX_THREADS` when set).
    public static let shared: ThreadPool = {
        let env = getenv("PAGEDFLEX_THREADS").flatMap { Int(String(cString: $0)) }
        return ThreadPool(threadCount: env ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Threads that run loop bodies, the caller included.
    public let threadCount: Int

    private typealias Body = (Int) -> Void

    /// Bumped (under `mutex`) to publish a new loop.
    private let generation = Atomic<UInt64>(0)
    private let nextIndex = Atomic<Int>(0)
    /// The workers inside the current loop, plus `closedBit` once the caller closed it.
    private let membership = Atomic<Int>(0)
    private static let closedBit = 1 << 40
    private let busy = Atomic<Bool>(false)
    /// Loops issued (parallel or run serially), for profiles.
    private let loops = Atomic<Int>(0)
    private var jobCount = 0
    private var jobBody: UnsafeRawPointer?  // points at a `Body` alive until the loop ends
    private var shuttingDown = false

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [pthread_t] = []

    /// Spin iterations before an idle worker blocks (tens of microseconds).
    private let spinLimit = 10_000
    /// Spin iterations before a caller waiting for workers starts yielding its core.
    private let callerSpinLimit = 2_000

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        membership.store(Self.closedBit, ordering: .relaxed)
        for _ in 1..<self.threadCount {
            let context = Unmanaged.passUnretained(self).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let pool = Unmanaged<ThreadPool>.fromOpaque(raw!).takeUnretainedValue()
                pool.workerLoop()
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    deinit {
        pthread_mutex_lock(mutex)
        shuttingDown = true
        _ = generation.add(1, ordering: .sequentiallyConsistent)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in threads { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
    }

    /// Runs `body(i)` for each `i` in `0..<count` on the threads of the pool, the caller
    /// included, and returns when every call has returned.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        loops.wrappingAdd(1, ordering: .relaxed)
        if count == 1 || threadCount == 1
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var boxed: Body = escapable
            withUnsafePointer(to: &boxed) { pointer in
                pthread_mutex_lock(mutex)
                jobBody = UnsafeRawPointer(pointer)
                jobCount = count
                nextIndex.store(0, ordering: .relaxed)
                membership.store(0, ordering: .relaxed)
                _ = generation.add(1, ordering: .sequentiallyConsistent)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)

                runShare(pointer.pointee, count: count)
                // No index is left: close the loop to latecomers, then wait for the workers in it.
                var inside = membership.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).oldValue
                var spins = 0
                while inside & ~Self.closedBit > 0 {
                    if spins < callerSpinLimit {
                        spinPause()
                        spins += 1
                    } else {
                        sched_yield()
                    }
                    inside = membership.load(ordering: .acquiring)
                }
            }
        }
        busy.store(false, ordering: .releasing)
    }

    /// Loops issued so far (``parallelFor(_:_:)`` calls with work), parallel or not.
    public var loopCount: Int { loops.load(ordering: .relaxed) }

    /// Splits `0..<count` into at most `chunks` contiguous ranges of nearly equal size (a multiple
    /// of `granularity` except the last) and runs `body` on each in parallel.
    public func parallelRanges(
        _ count: Int, granularity: Int = 1, chunks: Int? = nil, _ body: (Range<Int>) -> Void
    ) {
        let units = (count + granularity - 1) / granularity
        let chunkCount = max(1, min(units, chunks ?? threadCount))
        parallelFor(chunkCount) { c in
            let lo = units * c / chunkCount * granularity
            let hi = min(count, units * (c + 1) / chunkCount * granularity)
            if lo < hi { body(lo..<hi) }
        }
    }

    @inline(__always)
    private func runShare(_ body: Body, count: Int) {
        while true {
            let i = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { break }
            body(i)
        }
    }

    /// Runs a share of the loop; any copy of the body it makes is released when it returns.
    @inline(never)
    private func runJob(_ job: UnsafePointer<Body>, count: Int) {
        runShare(job.pointee, count: count)
    }

    private func workerLoop() {
        var seen: UInt64 = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < spinLimit {
                spinPause()
                spins += 1
            }
            pthread_mutex_lock(mutex)
            while generation.load(ordering: .acquiring) == seen && !shuttingDown {
                pthread_cond_wait(wake, mutex)
            }
            if shuttingDown {
                pthread_mutex_unlock(mutex)
                return
            }
            seen = generation.load(ordering: .acquiring)
            // Join only an open loop. Holding the mutex, no new loop can be published meanwhile.
            var joined = false
            var state = membership.load(ordering: .acquiring)
            while state & Self.closedBit == 0 {
                let (exchanged, current) = membership.compareExchange(
                    expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
                if exchanged {
                    joined = true
                    break
                }
                state = current
            }
            let job = jobBody?.assumingMemoryBound(to: Body.self)
            let count = jobCount
            pthread_mutex_unlock(mutex)
            guard joined, let job else { continue }
            runJob(job, count: count)
            // Only now, with every reference to the body released, may the caller return.
            _ = membership.subtract(1, ordering: .releasing)
        }
    }
}

@inline(__always)
func spinPause() { pf_cpu_pause() }
