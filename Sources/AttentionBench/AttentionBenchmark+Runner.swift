import FlexAttention
import SplitMix
import Kernels
import PagedKVCache

extension AttentionBenchmark {
    /// Measures shapes one at a time, holding at most two layouts' memory.
    struct Runner {
        let configuration: AttentionBenchmarkConfiguration
        let pool: ThreadPool
        var report: AttentionBenchmarkReport

        var shape: AttentionShape {
            AttentionShape(queryHeadCount: configuration.queryHeadCount, kvHeadCount: configuration.kvHeadCount,
                           headSize: configuration.headSize)
        }

        mutating func measure(
            _ mode: AttentionBenchmarkResult.Mode, elementType: KVElementType, batchSize: Int, context: Int,
            pageSizes: [Int], progress: (String) -> Void
        ) throws {
            let rowBytes = (shape.headSize + elementType.rowHeaderCount) * elementType.byteCount
            let bytes = batchSize * context * 2 * shape.kvHeadCount * rowBytes
            guard bytes <= configuration.maxKVBytes else {
                progress("skipped \(mode) \(elementType) batch \(batchSize) context \(context): \(bytes >> 20) MiB of KV")
                return
            }
            let contiguous = try BenchmarkKVStore(shape: shape, elementType: elementType, batchSize: batchSize,
                                                  context: context, tokensPerPage: nil, pool: pool)
            for pageSize in pageSizes {
                let paged = try BenchmarkKVStore(shape: shape, elementType: elementType, batchSize: batchSize,
                                                 context: context, tokensPerPage: pageSize, pool: pool)
                let result = switch elementType {
                case .f32: compare(Float.self, mode, contiguous: contiguous, paged: paged, batchSize: batchSize)
                case .f16: compare(Float16.self, mode, contiguous: contiguous, paged: paged, batchSize: batchSize)
                case .int8: compare(Int8.self, mode, contiguous: contiguous, paged: paged, batchSize: batchSize)
                }
                report.results.append(result)
                progress(AttentionBenchmarkReport.line(result))
            }
        }

        /// Times the paged and the contiguous call alternately and derives the figures.
        func compare<Element: KVElement>(
            _: Element.Type, _ mode: AttentionBenchmarkResult.Mode, contiguous: BenchmarkKVStore,
            paged: BenchmarkKVStore, batchSize: Int
        ) -> AttentionBenchmarkResult {
            let context = contiguous.context
            let queryCount = mode == .decode ? 1 : context
            var generator = SplitMix64(seed: 42)
            let queries = (0..<batchSize * queryCount * shape.queryRowStride).map { _ in
                Float(generator.next() >> 40) / Float(1 << 23) - 1
            }
            var output = [Float](repeating: 0, count: queries.count)
            let blockMask = BlockMask(mask: CausalMask(), queryCounts: Array(repeating: queryCount, count: batchSize),
                                      kvLengths: Array(repeating: context, count: batchSize), shape: shape)
            let kernel = AttentionKernel(shape: shape, pool: pool)
            let (contiguousTimes, pagedTimes) = output.withUnsafeMutableBufferPointer { out in
                contiguous.withSequences(queryCount: queryCount) { contiguousSequences in
                    paged.withSequences(queryCount: queryCount) { pagedSequences in
                        let contiguousKV = ContiguousKV<Element>(base: contiguous.base, layout: contiguous.layout, layer: 0)
                        let pagedKV = PagedKV<Element>(base: paged.base, layout: paged.layout, layer: 0)
                        return sideBySide(
                            { kernel(queries: queries, output: out.baseAddress!, sequences: contiguousSequences,
                                     kv: contiguousKV, blockMask: blockMask) },
                            { kernel(queries: queries, output: out.baseAddress!, sequences: pagedSequences,
                                     kv: pagedKV, blockMask: blockMask) })
                    }
                }
            }
            let pagedSeconds = Stopwatch.median(pagedTimes.map(\.wall))
            let contiguousSeconds = Stopwatch.median(contiguousTimes.map(\.wall))
            let threads = Double(pool.threadCount)
            let kvBytes = contiguous.kvBytes
            let pairs = mode == .decode ? batchSize * context : batchSize * context * (context + 1) / 2
            let gbps = Double(kvBytes) / pagedSeconds / 1e9
            return AttentionBenchmarkResult(
                mode: mode, elementType: Element.kvElementType.rawValue, batchSize: batchSize, context: context,
                pageSize: paged.layout.tokensPerPage, pagedMicroseconds: pagedSeconds * 1e6,
                contiguousMicroseconds: contiguousSeconds * 1e6,
                pagedCPUMicroseconds: Stopwatch.median(pagedTimes.map(\.cpu)) / threads * 1e6,
                contiguousCPUMicroseconds: Stopwatch.median(contiguousTimes.map(\.cpu)) / threads * 1e6,
                pagedDuty: Stopwatch.median(pagedTimes.map { $0.cpu / ($0.wall * threads) }),
                pagedOverContiguousRatio: Stopwatch.median(zip(contiguousTimes, pagedTimes).map { $0.wall / $1.wall }),
                kvBytes: kvBytes, pagedGBps: gbps,
                bandwidthFractionOfCopy: report.bandwidth.map { gbps / $0.copyMedianGBps },
                bandwidthFractionOfRead: report.bandwidth.map { gbps / $0.readMedianGBps },
                pagedGFLOPs: Double(4 * pairs * shape.queryHeadCount * shape.headSize) / pagedSeconds / 1e9,
                fitsInLastLevelCache: report.lastLevelCacheBytes.map { 2 * kvBytes <= $0 } ?? false)
        }

        /// Per repetition, the seconds per call of `first` and of `second`, run back to back (the
        /// order alternating between repetitions) so that both see the same machine.
        func sideBySide(_ first: () -> Void, _ second: () -> Void) -> ([Stopwatch.Timing], [Stopwatch.Timing]) {
            first()
            second()
            let slowest = max(Stopwatch.seconds(first), Stopwatch.seconds(second))
            let calls = max(1, Int(configuration.secondsPerRepetition / max(slowest, 1e-7)))
            func time(_ body: () -> Void) -> Stopwatch.Timing {
                let total = Stopwatch.measure { for _ in 0..<calls { body() } }
                return Stopwatch.Timing(wall: total.wall / Double(calls), cpu: total.cpu / Double(calls))
            }
            var firstTimes: [Stopwatch.Timing] = [], secondTimes: [Stopwatch.Timing] = []
            for repetition in 0..<configuration.repetitions {
                if repetition % 2 == 0 {
                    firstTimes.append(time(first))
                    secondTimes.append(time(second))
                } else {
                    secondTimes.append(time(second))
                    firstTimes.append(time(first))
                }
            }
            return (firstTimes, secondTimes)
        }
    }
}
