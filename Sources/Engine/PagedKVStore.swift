import FlexAttention
import Foundation
import Kernels
import Llama
import PagedKVCache

/// The model's KV store over a paged cache: keys and values go into the slots the page tables
/// give, and attention runs FlexAttention's kernel straight over the pages with a causal mask
/// inside each sequence. The contiguous baseline is the same store over a cache whose pages are
/// as long as the context (one page per sequence), so both run the same arithmetic.
///
/// Layers are in layer groups (``KVLayerGroups``): a sequence has one page table per group, and
/// layer `l` reads and writes its group's pages at its index inside the group. A window group's
/// table may have given back leading pages (``PageTable/releasedEntry``); the sliding-window
/// block mask never visits a tile before the window of a sequence's first query, and the cache
/// releases only pages wholly before that tile, so no released entry is ever looked up
/// (checked in ``prepare(batch:tables:)``).
///
/// Set up once per step with ``prepare(batch:tables:)`` (page tables copied into one flat
/// buffer, slots of the new tokens, the block mask) and valid for that step only.
final class PagedKVStore: KVStore {
    let layout: PageLayout
    let groups: KVLayerGroups
    let kernel: AttentionKernel<NoScoreMod>
    /// The first byte of the page storage, set for the step.
    var base: UnsafeMutableRawPointer?
    /// The step's page tables, group by group, one sequence after another; owned here so the
    /// attention batch can point into it for the whole step.
    private var tableEntries = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 1024)
    /// Per group: the range of each sequence's table in `tableEntries`, the slots of the new
    /// tokens, the attention batch.
    private var tableRanges: [[Range<Int>]]
    private var slots: [[Int]]
    private var sequences: [[AttentionSequence]]
    private var blockMask: BlockMask<CausalMask>?
    /// The sliding-window layers' block mask (tiles outside every query's window are skipped),
    /// built on the step's first request for it.
    private var windowMask: BlockMask<SlidingWindowMask>?

    init(layout: PageLayout, groups: KVLayerGroups, shape: AttentionShape) {
        precondition(groups.layersPerGroup == layout.layerCount, "a page holds one layer group")
        self.layout = layout
        self.groups = groups
        kernel = AttentionKernel(shape: shape)
        tableRanges = Array(repeating: [], count: groups.groupCount)
        slots = Array(repeating: [], count: groups.groupCount)
        sequences = Array(repeating: [], count: groups.groupCount)
    }

    deinit { tableEntries.deallocate() }

    /// Takes the step's page tables (`tables(id, group, body)` calls `body` with the table of
    /// group `group` of `batch.sequences[i].id`) and derives the slots of the new tokens and the
    /// attention batch of every group.
    func prepare(batch: ForwardBatch, tables: (SequenceID, Int, (borrowing PageTable) -> Void) -> Void) {
        var count = 0
        for group in 0..<groups.groupCount {
            tableRanges[group].removeAll(keepingCapacity: true)
            slots[group].removeAll(keepingCapacity: true)
            for sequence in batch.sequences {
                tables(sequence.id, group) { table in
                    if count + table.pageCount > tableEntries.count {
                        let grown = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 2 * (count + table.pageCount))
                        _ = grown.initialize(from: tableEntries[0..<count])
                        tableEntries.deallocate()
                        tableEntries = grown
                    }
                    table.withUnsafeEntries { entries in
                        _ = UnsafeMutableBufferPointer(rebasing: tableEntries[count..<count + entries.count]).initialize(from: entries)
                    }
                    tableRanges[group].append(count..<count + table.pageCount)
                    count += table.pageCount
                    let first = sequence.kvLength - sequence.tokenRange.count
                    // Released pages lie wholly before the first KV tile the window of the
                    // first query reaches, so the kernel never looks them up.
                    precondition(
                        table.releasedPageCount == 0
                            || table.releasedPageCount * layout.tokensPerPage
                                <= Self.firstVisibleTileStart(query: first, window: groups.windowLengths[group]),
                        "group \(group) of \(sequence.id) released pages a query at \(first) can see")
                    for position in first..<sequence.kvLength { slots[group].append(table.slot(at: position)) }
                }
            }
        }
        for group in 0..<groups.groupCount {
            sequences[group].removeAll(keepingCapacity: true)
            for (sequence, range) in zip(batch.sequences, tableRanges[group]) {
                sequences[group].append(AttentionSequence(
                    queryRows: sequence.tokenRange, kvLength: sequence.kvLength,
                    pageTable: UnsafeBufferPointer(rebasing: tableEntries[range])))
            }
        }
        // The masks depend on the sequences' lengths only, the same in every group.
        blockMask = BlockMask(mask: CausalMask(), sequences: sequences[0], shape: kernel.shape)
        windowMask = nil
    }

    /// The first position of the first KV tile a query at `query` can see through `window`
    /// (0 for global attention).
    static func firstVisibleTileStart(query: Int, window: Int?) -> Int {
        guard let window else { return 0 }
        let tile = AttentionTiling.kvTileLength
        return max(0, query - window + 1) / tile * tile
    }

    func write(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, batch: ForwardBatch) {
        let group = groups.groupOfLayer[layer]
        KVWriter.store(
            keys: keys, values: values, slots: slots[group], layer: groups.indexInGroup[layer], layout: layout, base: base!)
    }

    /// Bytes of one layer's keys and values ``prefetch(layer:batch:)`` asks for at most, the most
    /// recent pages first: what the q|k|v product leaves of a core's L2 and more, so that
    /// attention finds the keys in L2 or L3 instead of waiting on memory (decode keeps no KV in
    /// the caches from one step to the next: the step's weights stream through them). SmolLM2 q8
    /// + f16 KV decode, Zen 5, 2 threads, means of 4 alternations: after 128 tokens 315.0 -> 331.0
    /// tok/s, after 1024 186.1 -> 194.9 (256 KiB helped only the short context).
    ///
    /// None where a burst of prefetches stalls its thread (``Prefetch/burstStallsIssuer``): on an
    /// Ice Lake Xeon, 2 threads, the same decode after 2048 tokens ran 100.3 tok/s without,
    /// 97.9 with 64 KiB and 85.5 with 768 KiB (means of 3 alternations); after 128, 157.7, 155.7
    /// and 152.8. `PAGEDFLEX_KV_PREFETCH` (bytes, 0 for none) overrides it, to measure.
    static let prefetchBudget = prefetchSetting.bytes

    /// The environment variable that overrides ``prefetchBudget``.
    static let prefetchVariable = "PAGEDFLEX_KV_PREFETCH"

    /// The budget, and why `PAGEDFLEX_KV_PREFETCH` was not honoured if it was set and could not be.
    static let prefetchSetting = prefetchSetting(requested: ProcessInfo.processInfo.environment[prefetchVariable])

    /// The budget a value of `PAGEDFLEX_KV_PREFETCH` asks for (nil or empty: the machine's default;
    /// a value that is not a whole number of bytes from 0 falls back to it, with the reason).
    static func prefetchSetting(requested: String?) -> (bytes: Int, problem: String?) {
        let standard = Prefetch.burstStallsIssuer ? 0 : 768 << 10
        guard let requested, !requested.isEmpty else { return (standard, nil) }
        guard let bytes = Int(requested), bytes >= 0 else {
            return (standard, "\(prefetchVariable)=\(requested) is not a number of bytes (0 or more); using \(standard)")
        }
        return (bytes, nil)
    }
    /// Sequences with more new rows than this (prompt chunks) are not prefetched: they compute
    /// long enough per key to hide the memory behind their arithmetic.
    static let prefetchRows = 4

    func prefetch(layer: Int, batch: ForwardBatch) {
        guard let base, Self.prefetchBudget > 0 else { return }
        let group = groups.groupOfLayer[layer], indexInGroup = groups.indexInGroup[layer]
        let bytes = layout.elementType.byteCount, rowBytes = layout.rowStride * bytes
        let blockBytes = layout.layerStride * bytes  // a page's keys then values of one layer
        let window = groups.windowLengths[group]
        var budget = Self.prefetchBudget
        for sequence in sequences[group] where sequence.queryRows.count <= Self.prefetchRows {
            let table = sequence.pageTable
            // The pages the attention visits (never a released one: see prepare(batch:tables:)),
            // and in each only the rows written (a contiguous cache's one page is the context long).
            let firstQuery = sequence.kvLength - sequence.queryRows.count
            let firstPage = Self.firstVisibleTileStart(query: firstQuery, window: window) / layout.tokensPerPage
            var page = (sequence.kvLength - 1) / layout.tokensPerPage
            while page >= firstPage && budget > 0 {
                let entry = PageID(rawValue: table[page])
                let rows = min(layout.tokensPerPage, sequence.kvLength - page * layout.tokensPerPage)
                if rows == layout.tokensPerPage && blockBytes <= budget {
                    // A full page: its keys then values of this layer, one stretch.
                    let offset = layout.elementOffset(page: entry, layer: indexInGroup, isValue: false, kvHead: 0, tokenInPage: 0)
                    Prefetch.range(base + (offset - layout.elementType.rowHeaderCount) * bytes, bytes: blockBytes)
                    budget -= blockBytes
                } else {
                    // The written (or, past the budget, the latest) rows of each head's keys and values.
                    let runRows = min(rows, budget / (2 * layout.kvHeadCount * rowBytes))
                    if runRows == 0 { return }
                    for half in 0..<2 {
                        for kvHead in 0..<layout.kvHeadCount {
                            let offset = layout.elementOffset(
                                page: entry, layer: indexInGroup, isValue: half == 1, kvHead: kvHead, tokenInPage: rows - runRows)
                            Prefetch.range(base + (offset - layout.elementType.rowHeaderCount) * bytes, bytes: runRows * rowBytes)
                        }
                    }
                    budget -= 2 * layout.kvHeadCount * runRows * rowBytes
                }
                page -= 1
            }
        }
    }

    func attend(
        layer: Int, slidingWindow: Int?, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: ForwardBatch
    ) {
        let group = groups.groupOfLayer[layer], indexInGroup = groups.indexInGroup[layer]
        // A group that releases pages does so for its layers' window: a wider one would read them.
        precondition(
            groups.windowLengths[group] == nil || groups.windowLengths[group] == slidingWindow,
            "layer \(layer) attends through \(slidingWindow.map(String.init) ?? "no window"), its group through \(groups.windowLengths[group]!)")
        // Each sequence of the packed batch attends only to its own pages (the document mask of
        // the batch); inside it, causal or a causal sliding window.
        if let slidingWindow {
            if windowMask?.mask.windowLength != slidingWindow {
                windowMask = BlockMask(mask: SlidingWindowMask(windowLength: slidingWindow), sequences: sequences[0], shape: kernel.shape)
            }
            kernel(queries: queries, output: output, sequences: sequences[group], storage: UnsafeRawPointer(base!),
                   layout: layout, layer: indexInGroup, blockMask: windowMask!)
        } else {
            kernel(queries: queries, output: output, sequences: sequences[group], storage: UnsafeRawPointer(base!),
                   layout: layout, layer: indexInGroup, blockMask: blockMask!)
        }
    }
}
