import FlexAttention
import Kernels
import PagedKVCache
import Testing
import TestSupport

/// Determinism: a row's output is the same bits whatever else is in the batch, however its
/// prompt was split into steps, whatever the page size or thread count, and whether or not the
/// kernel skipped tiles.
@Suite struct KernelInvarianceTests {
    static let shape = AttentionShape(queryHeadCount: 6, kvHeadCount: 2, headSize: 48)

    /// Rows `rows` of the packed output, as bit patterns.
    static func bits(_ output: [Float], rows: Range<Int>, shape: AttentionShape) -> [UInt32] {
        output[rows.lowerBound * shape.queryRowStride..<rows.upperBound * shape.queryRowStride].map(\.bitPattern)
    }

    @Test("a sequence's output is the same bits alone and in a batch, with one thread or two")
    func batchAndThreadInvariance() throws {
        var random = SeededRandom(seed: 11)
        // A long decode (split into chunks), a prefill, a short decode, a chunked prefill step.
        let fixture = AttentionFixture(shape: Self.shape, queryCounts: [1, 37, 1, 9], kvLengths: [1100, 37, 70, 300],
                                       random: &random)
        let batched = try fixture.run(tokensPerPage: 16, blockMask: fixture.blockMask(CausalMask()), scoreMod: NoScoreMod())
        let serial = try fixture.run(tokensPerPage: 16, blockMask: fixture.blockMask(CausalMask()), scoreMod: NoScoreMod(),
                                     pool: ThreadPool(threadCount: 1))
        #expect(batched.map(\.bitPattern) == serial.map(\.bitPattern))
        for b in fixture.queryCounts.indices {
            let alone = fixture.sequence(b)
            let output = try alone.run(tokensPerPage: 64, blockMask: alone.blockMask(CausalMask()), scoreMod: NoScoreMod(),
                                       pool: ThreadPool(threadCount: 2))
            #expect(output.map(\.bitPattern) == Self.bits(batched, rows: fixture.queryRows[b], shape: Self.shape),
                    "sequence \(b)")
        }
        let expected = fixture.reference(mask: CausalMask(), scoreMod: NoScoreMod())
        #expect(ReferenceAttention.normalizedMeanSquaredError(batched, expected) < 1e-10)
    }

    @Test("a decode sequence gives the same bits as one unit in a large batch as split into chunks alone")
    func wholeAndSplitDecodeAgree() throws {
        var random = SeededRandom(seed: 12)
        // Twelve decode sequences of two to four chunks: in the batch each is one unit (see
        // AttentionWorkspace.plan), alone it is split into one unit per chunk and merged.
        let lengths = (0..<12).map { 260 + 23 * $0 }
        let fixture = AttentionFixture(shape: Self.shape, queryCounts: Array(repeating: 1, count: 12), kvLengths: lengths,
                                       random: &random)
        let batched = try fixture.run(tokensPerPage: 16, blockMask: fixture.blockMask(CausalMask()), scoreMod: NoScoreMod(),
                                      pool: ThreadPool(threadCount: 2))
        for b in fixture.queryCounts.indices {
            let alone = fixture.sequence(b)
            let output = try alone.run(tokensPerPage: 16, blockMask: alone.blockMask(CausalMask()), scoreMod: NoScoreMod(),
                                       pool: ThreadPool(threadCount: 2))
            #expect(output.map(\.bitPattern) == Self.bits(batched, rows: fixture.queryRows[b], shape: Self.shape),
                    "sequence \(b)")
        }
        let expected = fixture.reference(mask: CausalMask(), scoreMod: NoScoreMod())
        #expect(ReferenceAttention.normalizedMeanSquaredError(batched, expected) < 1e-10)
    }

    /// F32 over five chunks of 128 positions; F16 and int8 shorter, for their two paths (a one-row
    /// step converts keys as it loads them, longer steps widen each tile once).
    @Test("prefill in one step, in chunks, or token by token gives the same bits per row",
          arguments: [(KVElementType.f32, 600), (.f16, 120), (.int8, 120)])
    func chunkedPrefillAndDecodeAgree(elementType: KVElementType, length: Int) throws {
        var random = SeededRandom(seed: 12)
        let whole = AttentionFixture(shape: Self.shape, queryCounts: [length], kvLengths: [length], random: &random)
        let oneStep = try whole.run(tokensPerPage: 32, elementType: elementType, blockMask: whole.blockMask(CausalMask()),
                                    scoreMod: NoScoreMod())
        // The same prompt as a batch of steps, e.g. rows 0..<200, 200..<203, 203..<530, the
        // single row 599, then 530..<531 (a step's keys are all positions up to its last row).
        let cuts = [0, length / 3, length / 3 + 3, length - length / 8, length - length / 8 + 1]
        let steps: [Range<Int>] = [cuts[0]..<cuts[1], cuts[1]..<cuts[2], cuts[2]..<cuts[3], length - 1..<length, cuts[3]..<cuts[4]]
        let rowFloats = Self.shape.queryRowStride, kvFloats = Self.shape.kvHeadCount * Self.shape.headSize
        let stepFixture = AttentionFixture(
            shape: Self.shape, queryCounts: steps.map(\.count), kvLengths: steps.map(\.upperBound),
            queries: steps.flatMap { whole.queries[$0.lowerBound * rowFloats..<$0.upperBound * rowFloats] },
            keys: steps.map { Array(whole.keys[0][0..<$0.upperBound * kvFloats]) },
            values: steps.map { Array(whole.values[0][0..<$0.upperBound * kvFloats]) })
        let stepped = try stepFixture.run(tokensPerPage: 8, elementType: elementType,
                                          blockMask: stepFixture.blockMask(CausalMask()), scoreMod: NoScoreMod())
        for (step, rows) in zip(stepFixture.queryRows, steps) {
            #expect(Self.bits(stepped, rows: step, shape: Self.shape) == Self.bits(oneStep, rows: rows, shape: Self.shape),
                    "positions \(rows)")
        }
    }

    @Test("the block-sparse path equals the dense-masked path bitwise", arguments: [16, 128])
    func sparseEqualsDense(tokensPerPage: Int) throws {
        var random = SeededRandom(seed: 13)
        let fixture = AttentionFixture(shape: Self.shape, queryCounts: [1, 40, 100], kvLengths: [700, 90, 100], random: &random)
        let masks: [(String, (AttentionFixture) throws -> ([Float], [Float]))] = [
            ("causal", { try Self.sparseAndDense($0, CausalMask(), tokensPerPage: tokensPerPage) }),
            ("window", { try Self.sparseAndDense($0, SlidingWindowMask(windowLength: 45), tokensPerPage: tokensPerPage) }),
            ("prefix", { try Self.sparseAndDense($0, PrefixLMMask(prefixLength: 50), tokensPerPage: tokensPerPage) }),
        ]
        for (name, run) in masks {
            let (sparse, dense) = try run(fixture)
            #expect(sparse.map(\.bitPattern) == dense.map(\.bitPattern), "\(name)")
        }
    }

    static func sparseAndDense<Mask: MaskMod>(_ fixture: AttentionFixture, _ mask: Mask, tokensPerPage: Int) throws -> ([Float], [Float]) {
        let sparse = fixture.blockMask(mask)
        let dense = BlockMask.dense(mask: mask, queryCounts: fixture.queryCounts, kvLengths: fixture.kvLengths, shape: fixture.shape)
        #expect(sparse.sparsity > 0 && dense.sparsity == 0)
        return (try fixture.run(tokensPerPage: tokensPerPage, blockMask: sparse, scoreMod: ALiBi(headCount: 6)),
                try fixture.run(tokensPerPage: tokensPerPage, blockMask: dense, scoreMod: ALiBi(headCount: 6)))
    }
}
