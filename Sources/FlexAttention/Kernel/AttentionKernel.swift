import Kernels
import PagedKVCache

/// FlexAttention over a packed batch: for every sequence, its new query rows attend to its cached
/// keys and values, as its ``BlockMask`` allows, with scores rewritten by a ``ScoreMod``.
///
/// One kernel serves decode (one query per sequence, many sequences, long contexts split across
/// the cores at fixed chunk boundaries and merged) and prefill (many queries per sequence), with
/// grouped-query attention (the query heads that share a KV head are processed together, so each
/// KV row is read once per KV head). It is generic over where the keys and values live
/// (``PagedKV``, ``ContiguousKV``), their element type, the mask and the score modifier; each
/// combination is specialized at compile time.
///
/// The result is deterministic: a (sequence, query row, head) output is a fixed function of its
/// query, its position and its sequence's keys and values, whatever the page size (for pages of
/// any power of two: tiles are walked by position, pages only decide addresses), the batch, the
/// thread count or how a prompt was chunked. See ``AttentionTiling``.
///
/// ```swift
/// let attention = AttentionKernel(shape: AttentionShape(queryHeadCount: 9, kvHeadCount: 3, headSize: 64))
/// let mask = BlockMask(mask: CausalMask(), sequences: sequences, shape: attention.shape)  // once per step
/// for layer in 0..<layerCount {
///     KVWriter.store(keys: k, values: v, slots: slots, layer: layer, layout: layout, base: storageBase)
///     attention(queries: q, output: out, sequences: sequences,
///               kv: PagedKV<Float>(base: storageBase, layout: layout, layer: layer), blockMask: mask)
/// }
/// ```
///
/// Not thread-safe: one call at a time (the workspace is reused). The call itself runs on all
/// threads of `pool`, the caller included.
public struct AttentionKernel<Score: ScoreMod> {
    public let shape: AttentionShape
    public let scoreMod: Score
    public let workspace: AttentionWorkspace
    public let pool: ThreadPool

    public init(shape: AttentionShape, scoreMod: Score, workspace: AttentionWorkspace = AttentionWorkspace(),
                pool: ThreadPool = .shared) {
        self.shape = shape
        self.scoreMod = scoreMod
        self.workspace = workspace
        self.pool = pool
    }

    /// Attention of `queries` over the keys and values `kv` points at.
    ///
    /// - Parameters:
    ///   - queries: `[tokenCount][queryHeadCount][headSize]`, the packed new rows of all sequences.
    ///   - output: same shape; every row of every sequence's `queryRows` is written.
    ///   - sequences: the batch; their new keys and values already stored.
    ///   - kv: where the keys and values of the layer live.
    ///   - blockMask: built for these sequences (same query counts and lengths, same order).
    @inlinable
    public func callAsFunction<KV: KVLayout, Mask: MaskMod>(
        queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, sequences: [AttentionSequence],
        kv: KV, blockMask: BlockMask<Mask>
    ) {
        let workspace = self.workspace
        let (partialCount, steps) = workspace.plan(sequences: sequences, blockMask: blockMask, kvHeadCount: shape.kvHeadCount,
                                                  threadCount: pool.threadCount)
        let pass = AttentionPass(queries: queries, output: output, sequences: sequences, kv: kv, shape: shape,
                                 blockMask: blockMask, scoreMod: scoreMod)
        let units = workspace.units
        // Small calls stay on the caller: waking the pool costs more than it saves.
        let work = steps * shape.headSize
        let threads = work < Self.minimumWorkPerThread * 2 ? 1 : min(pool.threadCount, work / Self.minimumWorkPerThread)
        let slotCount = max(1, min(threads, units.count))
        let slotFloats = pass.slotFloatCount
        workspace.reserve(slots: slotCount, slotFloats: slotFloats, rowPointersPerSlot: pass.rowPointersPerSlot,
                          partialFloats: partialCount * pass.partialFloatCount)
        let scratch = workspace.scratch, rowPointers = workspace.rowPointers, partials = workspace.partials
        workspace.rewindUnits()
        pool.parallelFor(slotCount) { slot in
            while true {
                let i = workspace.takeUnit()
                if i >= units.count { break }
                pass.run(units[i], scratch: scratch + slot * slotFloats,
                         rowPointers: rowPointers + slot * pass.rowPointersPerSlot, partials: partials)
            }
        }
        let groups = workspace.mergeGroups
        if slotCount == 1 {
            for group in groups { pass.merge(group, partials: partials) }
        } else if !groups.isEmpty {
            pool.parallelFor(groups.count) { pass.merge(groups[$0], partials: partials) }
        }
    }

    /// (KV tile, KV head) steps times the head size worth waking another thread for: four steps
    /// of head size 64, about 10 µs of decode when the keys and values come from memory (as they
    /// do in decode, where each step's weights have pushed the last step's KV out of the caches);
    /// waking the pool costs about 0.2 µs.
    @usableFromInline static var minimumWorkPerThread: Int { 4 * 64 }

    /// Attention over a paged cache whose element type is known only at run time (from its
    /// layout): the one switch from the layout's ``KVElementType`` to a specialized kernel.
    @inlinable
    public func callAsFunction<Mask: MaskMod>(
        queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, sequences: [AttentionSequence],
        storage base: UnsafeRawPointer, layout: PageLayout, layer: Int, blockMask: BlockMask<Mask>
    ) {
        switch layout.elementType {
        case .f32:
            self(queries: queries, output: output, sequences: sequences,
                 kv: PagedKV<Float>(base: base, layout: layout, layer: layer), blockMask: blockMask)
        case .f16:
            self(queries: queries, output: output, sequences: sequences,
                 kv: PagedKV<Float16>(base: base, layout: layout, layer: layer), blockMask: blockMask)
        case .int8:
            self(queries: queries, output: output, sequences: sequences,
                 kv: PagedKV<Int8>(base: base, layout: layout, layer: layer), blockMask: blockMask)
        }
    }
}

extension AttentionKernel where Score == NoScoreMod {
    /// Plain scaled dot-product attention (masks only).
    public init(shape: AttentionShape, workspace: AttentionWorkspace = AttentionWorkspace(), pool: ThreadPool = .shared) {
        self.init(shape: shape, scoreMod: NoScoreMod(), workspace: workspace, pool: pool)
    }
}
