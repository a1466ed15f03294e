// Micro-benchmarks of the paged KV cache: page allocation on one and two threads, for pools of a
// thousand and a million pages, steady-state decode appends and prefix lookups (which must not
// allocate memory), and the paper's mixed-batch waste as custom metrics.
//
//   cd Benchmarks && swift package --scratch-path ../.build-bench benchmark
import Benchmark
import Foundation
import PagedKVCache

let benchmarks: @Sendable () -> Void = {
    let poolSizes = [1_000, 1_000_000]
    let timeAndMallocs: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, .instructions]
    let steps = Benchmark.Configuration(
        metrics: timeAndMallocs, scalingFactor: .mega, maxDuration: .seconds(2), maxIterations: 20)

    for pageCount in poolSizes {
        Benchmark("PagePool allocate+release, \(pageCount) pages", configuration: steps) { benchmark in
            var pool = PagePool(pageCount: pageCount)
            // Hold half the pool, so the page handed out is not the only one.
            for _ in 0 ..< pageCount / 2 { blackHole(pool.allocate()) }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let page = pool.allocate()!
                blackHole(page)
                pool.release(page)
            }
            benchmark.stopMeasurement()
        }

        Benchmark("FreePageStack pop+push, 1 thread, \(pageCount) pages", configuration: steps) { benchmark in
            let stack = FreePageStack(capacity: pageCount, full: true)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                let page = stack.pop()!
                blackHole(page)
                stack.push(page)
            }
            benchmark.stopMeasurement()
        }

        // Each of two threads does one pop+push per iteration: the figure is the time for both
        // to get through one, with the head's cache line bouncing between them.
        Benchmark(
            "FreePageStack pop+push, 2 threads, \(pageCount) pages",
            configuration: .init(metrics: [.wallClock, .cpuTotal], scalingFactor: .mega, maxDuration: .seconds(2), maxIterations: 20)
        ) { benchmark in
            let stack = FreePageStack(capacity: pageCount, full: true)
            let iterations = benchmark.scaledIterations.count
            let finished = DispatchSemaphore(value: 0)
            benchmark.startMeasurement()
            for _ in 0 ..< 2 {
                Thread {
                    for _ in 0 ..< iterations {
                        let page = stack.pop()!
                        blackHole(page)
                        stack.push(page)
                    }
                    finished.signal()
                }.start()
            }
            finished.wait()
            finished.wait()
            benchmark.stopMeasurement()
        }
    }

    // Decode in steady state: one token reserved and marked computed per step, a page
    // allocated (and cached, evicting the oldest cached page once the pool is full) every 16.
    Benchmark("KVCacheManager append(token:) + markComputed, steady state", configuration: steps) { benchmark in
        let layout = try! PageLayout(tokensPerPage: 16, layerCount: 30, kvHeadCount: 3, headSize: 64)
        let contextLength = 4096
        var cache = KVCacheManager(layout: layout, pageCount: 1_000, maxTokensPerSequence: contextLength)
        let prompt = (0 ..< 16).map(UInt32.init)
        let id = SequenceID(rawValue: 0)
        var nextToken: UInt32 = 0
        _ = cache.startSequence(id, promptTokens: prompt)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            if cache.tokenCount(of: id) == contextLength {
                cache.release(id)
                _ = cache.startSequence(id, promptTokens: prompt)
            }
            nextToken &+= 1
            precondition(cache.append(token: nextToken, to: id))
            cache.markComputed(id)
        }
        benchmark.stopMeasurement()
    }

    // A 1024-token prompt whose first 1008 tokens (63 pages) are cached: lookup, retain, one
    // new page, release.
    Benchmark(
        "KVCacheManager startSequence with a 63-page cached prefix + release",
        configuration: .init(metrics: timeAndMallocs, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 50)
    ) { benchmark in
        let layout = try! PageLayout(tokensPerPage: 16, layerCount: 30, kvHeadCount: 3, headSize: 64)
        var cache = KVCacheManager(layout: layout, pageCount: 1_000, maxTokensPerSequence: 2048)
        let prompt = (0 ..< 1024).map { UInt32($0 * 7 % 50_000) }
        _ = cache.startSequence(SequenceID(rawValue: 0), promptTokens: prompt)
        cache.markComputed(SequenceID(rawValue: 0))
        let id = SequenceID(rawValue: 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let cached = cache.startSequence(id, promptTokens: prompt)
            precondition(cached == 1008)
            cache.release(id)
        }
        benchmark.stopMeasurement()
    }

    // The paper's mixed batch: 16 sequences of 128...8192 tokens, 16-token pages against
    // contiguous 8192-token buffers. Waste in hundredths of a percent of the bytes in use.
    let pagedWaste = BenchmarkMetric.custom("paged waste (0.01%)", useScalingFactor: false)
    let contiguousWaste = BenchmarkMetric.custom("contiguous waste (0.01%)", useScalingFactor: false)
    Benchmark(
        "Mixed batch waste, 16 x 128...8192 tokens, 16-token pages vs 8192-token buffers",
        configuration: .init(metrics: [.wallClock, pagedWaste, contiguousWaste], maxIterations: 5)
    ) { benchmark in
        let layout = try! PageLayout(tokensPerPage: 16, layerCount: 30, kvHeadCount: 3, headSize: 64)
        let lengths = KVWasteComparison.paperMixedBatch(seed: 2025)
        let comparison = try! KVWasteComparison(sequenceLengths: lengths, layout: layout, contextLength: 8192)
        benchmark.measurement(pagedWaste, Int((comparison.paged.wastePercent * 100).rounded()))
        benchmark.measurement(contiguousWaste, Int((comparison.contiguous.wastePercent * 100).rounded()))
    }
}
