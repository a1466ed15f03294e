import FlexAttention
import Foundation
import PagedKVCache

/// Times FlexAttention's decode step alone, as the engine runs it, for a batch of sequences whose
/// keys and values sit in pages of a given size: build the step's block mask, then attend every
/// layer, one query token per sequence.
///
/// Each sequence's pages are scattered through the storage (a fixed permutation of the pages,
/// as after a long-running server's allocations and frees), and every stored key and value is
/// written first: untouched anonymous memory reads as the kernel's shared zero page, which would
/// make the reads look free.
struct DecodeAttentionTimer {
    let shape: AttentionShape
    let layerCount: Int

    /// Wall and CPU seconds per decode step (block mask + all layers), one entry per repetition
    /// after one warm-up step.
    func stepSeconds(lengths: [Int], tokensPerPage: Int, repetitions: Int) throws -> [(wall: Double, cpu: Double)] {
        let layout = try PageLayout(
            tokensPerPage: tokensPerPage, layerCount: layerCount, kvHeadCount: shape.kvHeadCount,
            headSize: shape.headSize, elementType: .f32)
        let pagesPerSequence = lengths.map { ($0 + tokensPerPage - 1) / tokensPerPage }
        let pageCount = pagesPerSequence.reduce(0, +)
        var storage = try PageStorage(layout: layout, pageCount: pageCount)
        let table = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: pageCount)
        defer { table.deallocate() }
        // Logical page i lives at physical page (i × stride) mod pageCount, stride coprime to it.
        let stride = Self.coprimeStride(pageCount)
        for i in 0..<pageCount { table[i] = UInt32((i * stride) % pageCount) }

        storage.withUnsafeMutableBytes { bytes in
            let base = bytes.baseAddress!
            var first = 0
            for (sequence, length) in lengths.enumerated() {
                for page in 0..<pagesPerSequence[sequence] {
                    let tokens = min(tokensPerPage, length - page * tokensPerPage)
                    let physical = PageID(rawValue: table[first + page])
                    for layer in 0..<layerCount {
                        for isValue in [false, true] {
                            for head in 0..<shape.kvHeadCount {
                                let offset = layout.elementOffset(page: physical, layer: layer, isValue: isValue, kvHead: head, tokenInPage: 0)
                                let rows = (base + offset * 4).assumingMemoryBound(to: Float.self)
                                for i in 0..<tokens * shape.headSize { rows[i] = Self.pattern(offset + i) }
                            }
                        }
                    }
                }
                first += pagesPerSequence[sequence]
            }
        }

        var sequences: [AttentionSequence] = []
        var first = 0
        for (index, length) in lengths.enumerated() {
            sequences.append(AttentionSequence(
                queryRows: index..<index + 1, kvLength: length,
                pageTable: UnsafeBufferPointer(rebasing: table[first..<first + pagesPerSequence[index]])))
            first += pagesPerSequence[index]
        }
        let width = lengths.count * shape.queryHeadCount * shape.headSize
        let queries = UnsafeMutablePointer<Float>.allocate(capacity: width)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: width)
        defer { queries.deallocate(); output.deallocate() }
        for i in 0..<width { queries[i] = Self.pattern(7 * i + 3) }
        let kernel = AttentionKernel(shape: shape)

        var seconds: [(wall: Double, cpu: Double)] = []
        storage.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            for repetition in 0...repetitions {
                let start = monotonicSeconds(), startCPU = processCPUSeconds()
                let mask = BlockMask(mask: CausalMask(), sequences: sequences, shape: shape)
                for layer in 0..<layerCount {
                    kernel(queries: queries, output: output, sequences: sequences, storage: base, layout: layout, layer: layer, blockMask: mask)
                }
                if repetition > 0 { seconds.append((monotonicSeconds() - start, processCPUSeconds() - startCPU)) }
            }
        }
        return seconds
    }

    /// A value in [-1, 1) that varies with `index` (keys and values need no meaning here, only
    /// to be ordinary numbers).
    static func pattern(_ index: Int) -> Float {
        Float((index &* 2_654_435_761) & 0xFFFF) / 32768 - 1
    }

    /// The smallest stride above n/3 that is coprime to `n`: consecutive logical pages land far
    /// apart.
    static func coprimeStride(_ n: Int) -> Int {
        guard n > 2 else { return 1 }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        var s = n / 3 + 1
        while gcd(s, n) != 1 { s += 1 }
        return s
    }
}
