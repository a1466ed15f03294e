import FlexAttention
import Kernels
import PagedKVCache
import TestSupport

/// A random attention problem (queries, and keys and values per sequence in logical order) that
/// can be laid out in pages of any size, in shuffled physical order, or contiguously, and run
/// through the kernel or the reference.
struct AttentionFixture {
    let shape: AttentionShape
    let queryCounts: [Int]
    let kvLengths: [Int]
    /// `[tokenCount][queryHeadCount][headSize]`, sequences packed in order.
    let queries: [Float]
    /// Per sequence, `[kvLength][kvHeadCount][headSize]`.
    let keys: [[Float]]
    let values: [[Float]]

    init(shape: AttentionShape, queryCounts: [Int], kvLengths: [Int], random: inout SeededRandom) {
        self.shape = shape
        self.queryCounts = queryCounts
        self.kvLengths = kvLengths
        let kvRow = shape.kvHeadCount * shape.headSize
        queries = random.floats(queryCounts.reduce(0, +) * shape.queryRowStride, in: -2...2)
        keys = kvLengths.map { random.floats($0 * kvRow, in: -2...2) }
        values = kvLengths.map { random.floats($0 * kvRow) }
    }

    /// The same problem with other queries (the model's next layer, say), or a subset of sequences.
    init(shape: AttentionShape, queryCounts: [Int], kvLengths: [Int], queries: [Float], keys: [[Float]], values: [[Float]]) {
        self.shape = shape
        self.queryCounts = queryCounts
        self.kvLengths = kvLengths
        self.queries = queries
        self.keys = keys
        self.values = values
    }

    var tokenCount: Int { queryCounts.reduce(0, +) }

    var queryRows: [Range<Int>] {
        var start = 0
        return queryCounts.map { count in
            defer { start += count }
            return start..<start + count
        }
    }

    /// Sequence `b` alone, its queries taken from the packed batch.
    func sequence(_ b: Int) -> AttentionFixture {
        let rows = queryRows[b]
        return AttentionFixture(
            shape: shape, queryCounts: [queryCounts[b]], kvLengths: [kvLengths[b]],
            queries: Array(queries[rows.lowerBound * shape.queryRowStride..<rows.upperBound * shape.queryRowStride]),
            keys: [keys[b]], values: [values[b]])
    }

    func blockMask<Mask: MaskMod>(_ mask: Mask) -> BlockMask<Mask> {
        BlockMask(mask: mask, queryCounts: queryCounts, kvLengths: kvLengths, shape: shape)
    }

    func reference<Mask: MaskMod, Score: ScoreMod>(mask: Mask, scoreMod: Score, roundedTo elementType: KVElementType = .f32) -> [Float] {
        let round = { (rows: [Float]) in Self.stored(rows, as: elementType, headSize: self.shape.headSize) }
        let sequences = zip(queryRows, kvLengths).enumerated().map { b, rowsAndLength in
            ReferenceAttention.Sequence(queryRows: rowsAndLength.0, kvLength: rowsAndLength.1,
                                        keys: round(keys[b]), values: round(values[b]))
        }
        return ReferenceAttention.attend(queries: queries, sequences: sequences, shape: shape, mask: mask, scoreMod: scoreMod)
    }

    /// What storing `rows` (rows of `headSize`) as `elementType` and reading them back gives:
    /// F16 rounds each value, int8 quantizes each row against its largest magnitude, with the
    /// arithmetic of `Int8.storeRow` and `Int8.load8` written out here (`Float(q) × scale`).
    static func stored(_ rows: [Float], as elementType: KVElementType, headSize: Int) -> [Float] {
        switch elementType {
        case .f32: return rows
        case .f16: return rows.map { Float(Float16($0)) }
        case .int8:
            var out = rows
            for start in stride(from: 0, to: rows.count, by: headSize) {
                let row = rows[start..<start + headSize]
                let largest = row.map(abs).max()!
                let scale = largest / 127, inverse: Float = largest > 0 ? 127 / largest : 0
                for i in row.indices { out[i] = (row[i] * inverse).rounded(.toNearestOrEven) * scale }
            }
            return out
        }
    }

    /// Runs the kernel over pages of `tokensPerPage` handed out in shuffled order, or over one
    /// page per sequence when `contiguous` (tokensPerPage then must hold the longest sequence).
    func run<Mask: MaskMod, Score: ScoreMod>(
        tokensPerPage: Int, contiguous: Bool = false, elementType: KVElementType = .f32, blockMask: BlockMask<Mask>,
        scoreMod: Score, pool: ThreadPool = .shared, seed: UInt64 = 7
    ) throws -> [Float] {
        let layout = try PageLayout(tokensPerPage: tokensPerPage, layerCount: 2, kvHeadCount: shape.kvHeadCount,
                                    headSize: shape.headSize, elementType: elementType)
        let pagesPerSequence = kvLengths.map { contiguous ? 1 : AttentionTiling.tileCount($0, length: tokensPerPage) }
        var random = SeededRandom(seed: seed)
        let pageCount = pagesPerSequence.reduce(0, +) + 3  // spare pages stay unused
        var physical = Array(0..<pageCount).map(UInt32.init)
        physical.shuffle(using: &random)
        var tables: [[UInt32]] = []
        for count in pagesPerSequence {
            tables.append(Array(physical.prefix(count)))
            physical.removeFirst(count)
        }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: pageCount * layout.bytesPerPage, alignment: 64)
        defer { storage.deallocate() }
        // NaN everywhere first: a kernel reading a slot it should not would show it.
        storage.initializeMemory(as: UInt8.self, repeating: 0xFF, count: pageCount * layout.bytesPerPage)
        for b in kvLengths.indices {
            let slots = (0..<kvLengths[b]).map { Int(tables[b][$0 / tokensPerPage]) * tokensPerPage + $0 % tokensPerPage }
            // Layer 1 is the one attended; layer 0 gets other data, which must not leak in.
            for layer in 0..<2 {
                let k = layer == 1 ? keys[b] : values[b], v = layer == 1 ? values[b] : keys[b]
                KVWriter.store(keys: k, values: v, slots: slots, layer: layer, layout: layout, base: storage)
            }
        }
        let flatTables = tables.flatMap { $0 }
        var output = [Float](repeating: .nan, count: queries.count)
        let kernel = AttentionKernel(shape: shape, scoreMod: scoreMod, pool: pool)
        flatTables.withUnsafeBufferPointer { allTables in
            var start = 0
            let sequences = zip(queryRows, kvLengths).enumerated().map { b, rowsAndLength in
                defer { start += tables[b].count }
                return AttentionSequence(queryRows: rowsAndLength.0, kvLength: rowsAndLength.1,
                                         pageTable: UnsafeBufferPointer(rebasing: allTables[start..<start + tables[b].count]))
            }
            output.withUnsafeMutableBufferPointer { out in
                let base = UnsafeRawPointer(storage)
                switch (contiguous, elementType) {
                case (true, .f32):
                    kernel(queries: queries, output: out.baseAddress!, sequences: sequences,
                           kv: ContiguousKV<Float>(base: base, layout: layout, layer: 1), blockMask: blockMask)
                case (true, .f16):
                    kernel(queries: queries, output: out.baseAddress!, sequences: sequences,
                           kv: ContiguousKV<Float16>(base: base, layout: layout, layer: 1), blockMask: blockMask)
                case (true, .int8):
                    kernel(queries: queries, output: out.baseAddress!, sequences: sequences,
                           kv: ContiguousKV<Int8>(base: base, layout: layout, layer: 1), blockMask: blockMask)
                case (false, _):
                    kernel(queries: queries, output: out.baseAddress!, sequences: sequences, storage: base,
                           layout: layout, layer: 1, blockMask: blockMask)
                }
            }
        }
        return output
    }

    /// The smallest power-of-two page that holds every sequence: the contiguous layout.
    var contiguousPageLength: Int {
        var length = 1
        while length < kvLengths.max() ?? 1 { length *= 2 }
        return length
    }
}
