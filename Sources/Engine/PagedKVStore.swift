import FlexAttention
import Llama
import PagedKVCache

/// The model's KV store over a paged cache: keys and values go into the slots the page tables
/// give, and attention runs FlexAttention's kernel straight over the pages with a causal mask
/// inside each sequence. The contiguous baseline is the same store over a cache whose pages are
/// as long as the context (one page per sequence), so both run the same arithmetic.
///
/// Set up once per step with ``prepare(batch:tables:)`` (page tables copied into one flat
/// buffer, slots of the new tokens, the block mask) and valid for that step only.
final class PagedKVStore: KVStore {
    let layout: PageLayout
    let kernel: AttentionKernel<NoScoreMod>
    /// The first byte of the page storage, set for the step.
    var base: UnsafeMutableRawPointer?
    /// The step's page tables, one after another; owned here so the attention batch can point
    /// into it for the whole step.
    private var tableEntries = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 1024)
    private var tableRanges: [Range<Int>] = []
    private var slots: [Int] = []
    private var sequences: [AttentionSequence] = []
    private var blockMask: BlockMask<CausalMask>?
    /// The sliding-window layers' block mask (tiles outside every query's window are skipped),
    /// built on the step's first request for it.
    private var windowMask: BlockMask<SlidingWindowMask>?

    init(layout: PageLayout, shape: AttentionShape) {
        self.layout = layout
        kernel = AttentionKernel(shape: shape)
    }

    deinit { tableEntries.deallocate() }

    /// Takes the step's page tables (`tables[i]` for `batch.sequences[i]`) and derives the slots
    /// of the new tokens and the attention batch.
    func prepare(batch: ForwardBatch, tables: (SequenceID, (borrowing PageTable) -> Void) -> Void) {
        tableRanges.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        var count = 0
        for sequence in batch.sequences {
            tables(sequence.id) { table in
                if count + table.pageCount > tableEntries.count {
                    let grown = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: 2 * (count + table.pageCount))
                    _ = grown.initialize(from: tableEntries[0..<count])
                    tableEntries.deallocate()
                    tableEntries = grown
                }
                table.withUnsafeEntries { entries in
                    _ = UnsafeMutableBufferPointer(rebasing: tableEntries[count..<count + entries.count]).initialize(from: entries)
                }
                tableRanges.append(count..<count + table.pageCount)
                count += table.pageCount
                let first = sequence.kvLength - sequence.tokenRange.count
                for position in first..<sequence.kvLength { slots.append(table.slot(at: position)) }
            }
        }
        sequences.removeAll(keepingCapacity: true)
        for (sequence, range) in zip(batch.sequences, tableRanges) {
            sequences.append(AttentionSequence(
                queryRows: sequence.tokenRange, kvLength: sequence.kvLength,
                pageTable: UnsafeBufferPointer(rebasing: tableEntries[range])))
        }
        blockMask = BlockMask(mask: CausalMask(), sequences: sequences, shape: kernel.shape)
        windowMask = nil
    }

    func write(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, batch: ForwardBatch) {
        KVWriter.store(keys: keys, values: values, slots: slots, layer: layer, layout: layout, base: base!)
    }

    func attend(
        layer: Int, slidingWindow: Int?, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: ForwardBatch
    ) {
        // Each sequence of the packed batch attends only to its own pages (the document mask of
        // the batch); inside it, causal or a causal sliding window.
        if let slidingWindow {
            if windowMask?.mask.windowLength != slidingWindow {
                windowMask = BlockMask(mask: SlidingWindowMask(windowLength: slidingWindow), sequences: sequences, shape: kernel.shape)
            }
            kernel(queries: queries, output: output, sequences: sequences, storage: UnsafeRawPointer(base!),
                   layout: layout, layer: layer, blockMask: windowMask!)
        } else {
            kernel(queries: queries, output: output, sequences: sequences, storage: UnsafeRawPointer(base!),
                   layout: layout, layer: layer, blockMask: blockMask!)
        }
    }
}
