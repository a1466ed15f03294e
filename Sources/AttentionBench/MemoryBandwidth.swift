import FlexAttention
import Kernels

/// A STREAM-like measurement of the machine's memory bandwidth, run in the same process as the
/// attention benchmark so that both see the same machine state. Two kernels, both over all
/// threads of a pool: *copy* (`b[i] = a[i]`, counted as 2 arrays moved, as STREAM counts) and
/// *read* (a sum over one array with independent partial sums, counted as 1 array: the access
/// pattern of decode attention, which only reads K and V).
///
/// The arrays must be much larger than the last-level cache for the figures to be DRAM's.
public struct MemoryBandwidth: Codable, Sendable, Hashable {
    /// Bytes of each array.
    public var arrayBytes: Int
    public var threads: Int
    /// Best and median copy bandwidth, GB/s (10^9 bytes).
    public var copyBestGBps: Double
    public var copyMedianGBps: Double
    /// Best and median read bandwidth, GB/s.
    public var readBestGBps: Double
    public var readMedianGBps: Double

    /// Runs each kernel `repetitions` times (after one warm-up pass that also pages the arrays in).
    public static func measure(arrayBytes: Int = 512 << 20, repetitions: Int = 7, pool: ThreadPool = .shared) -> MemoryBandwidth {
        let count = arrayBytes / MemoryLayout<SIMD8<Float>>.stride
        let a = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: count)
        let b = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: count)
        defer { a.deallocate(); b.deallocate() }
        let chunks = 16 * pool.threadCount
        pool.parallelRanges(count, chunks: chunks) { range in
            (a + range.lowerBound).initialize(repeating: SIMD8(repeating: 1), count: range.count)
            (b + range.lowerBound).initialize(repeating: SIMD8(repeating: 2), count: range.count)
        }
        let sums = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: chunks)
        defer { sums.deallocate() }
        var copySeconds: [Double] = [], readSeconds: [Double] = []
        for repetition in 0...repetitions {
            let copy = Stopwatch.seconds {
                pool.parallelRanges(count, chunks: chunks) { range in
                    for i in range { b[i] = a[i] }
                }
            }
            let read = Stopwatch.seconds {
                pool.parallelFor(chunks) { chunk in
                    let lower = count * chunk / chunks, upper = count * (chunk + 1) / chunks
                    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
                    var i = lower
                    while i + 4 <= upper {
                        s0 += b[i]; s1 += b[i + 1]; s2 += b[i + 2]; s3 += b[i + 3]
                        i += 4
                    }
                    while i < upper { s0 += b[i]; i += 1 }
                    sums[chunk] = (s0 + s1) + (s2 + s3)
                }
            }
            if repetition > 0 {
                copySeconds.append(copy)
                readSeconds.append(read)
            }
        }
        precondition((0..<chunks).allSatisfy { sums[$0][0] > 0 }, "the read kernel must not be optimized away")
        let bytes = Double(count * MemoryLayout<SIMD8<Float>>.stride)
        copySeconds.sort()
        readSeconds.sort()
        return MemoryBandwidth(
            arrayBytes: count * MemoryLayout<SIMD8<Float>>.stride, threads: pool.threadCount,
            copyBestGBps: 2 * bytes / copySeconds[0] / 1e9, copyMedianGBps: 2 * bytes / copySeconds[copySeconds.count / 2] / 1e9,
            readBestGBps: bytes / readSeconds[0] / 1e9, readMedianGBps: bytes / readSeconds[readSeconds.count / 2] / 1e9)
    }
}
