import PagedKVCache

/// The new tokens of one forward step: any number of sequences, each contributing a run of
/// consecutive tokens (a prompt chunk being prefilled, or one token being decoded), packed.
///
/// ```
///  tokens     │ a0 a1 a2 a3 │ b7 │ c0 c1 │     (sequence a prefills 4, b decodes, c prefills 2)
///  positions  │  0  1  2  3 │  7 │  0  1 │
///  sequences  │ a: 0..<4, kvLength 4 │ b: 4..<5, kvLength 8 │ c: 5..<7, kvLength 2 │
/// ```
public struct ForwardBatch: Sendable {
    public struct Sequence: Sendable, Equatable {
        public var id: SequenceID
        /// Where this sequence's new tokens sit in the packed batch.
        public var tokenRange: Range<Int>
        /// Tokens in this sequence's KV cache once this step has written its new tokens: the new
        /// tokens are at positions `kvLength - tokenRange.count ..< kvLength`.
        public var kvLength: Int

        public init(id: SequenceID, tokenRange: Range<Int>, kvLength: Int) {
            self.id = id
            self.tokenRange = tokenRange
            self.kvLength = kvLength
        }
    }

    public var tokens: [Int32] = []
    public var positions: [Int32] = []
    public var sequences: [Sequence] = []
    /// Packed token indices whose logits the step returns, in this order.
    public var logitRows: [Int] = []
    /// For each of `logitRows`, how many of its largest logits are all its sampler reads: 1 for a
    /// greedy sample, k for top-k sampling, 0 for all of them (log-probabilities, or no top-k). A
    /// row with k > 0 may hold `−inf` for every token that cannot be among its k largest (the
    /// output product's ``ArgmaxShadow``).
    public var largestLogits: [Int] = []

    public init() {}

    public var tokenCount: Int { tokens.count }

    /// Appends `tokens` of sequence `id`, whose cache already holds `cachedCount` tokens; asks for
    /// the logits of the last one when `wantLogits` (only its `largestLogits` largest when that is
    /// above 0).
    public mutating func append(
        sequence id: SequenceID, tokens new: some Collection<Int32>, cachedCount: Int, wantLogits: Bool = true, largestLogits: Int = 0
    ) {
        let start = tokens.count
        tokens.append(contentsOf: new)
        for i in 0..<new.count { positions.append(Int32(cachedCount + i)) }
        sequences.append(Sequence(id: id, tokenRange: start..<tokens.count, kvLength: cachedCount + new.count))
        if wantLogits {
            logitRows.append(tokens.count - 1)
            self.largestLogits.append(max(0, largestLogits))
        }
    }

    /// Whether every logit row is read only for some of its largest logits (and there is a row).
    public var readsOnlyLargestLogits: Bool {
        !logitRows.isEmpty && largestLogits.count == logitRows.count && !largestLogits.contains(0)
    }

    /// Empties the batch, keeping its storage.
    public mutating func removeAll() {
        tokens.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        sequences.removeAll(keepingCapacity: true)
        logitRows.removeAll(keepingCapacity: true)
        largestLogits.removeAll(keepingCapacity: true)
    }
}

/// The boundary between the model and the KV cache. The model computes each layer's keys,
/// values and queries for the batch's new tokens; the store keeps the keys and values (paged,
/// contiguous, or only for this step) and runs attention of the queries over everything the
/// batch's sequences have cached. The model code is the same whichever store is used.
public protocol KVStore: AnyObject {
    /// Stores the keys and values of the batch's new tokens for `layer`: `keys` and `values`
    /// are `[tokenCount][kvHeadCount × headSize]`, rotary embedding already applied to keys.
    func write(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, batch: ForwardBatch)

    /// Causal attention of `queries` (`[tokenCount][headCount × headSize]`) over each
    /// sequence's cached keys and values in `layer`, into `output` (same shape). With a
    /// `slidingWindow`, a query at position p sees only the keys at `p − slidingWindow + 1 ... p`.
    func attend(
        layer: Int, slidingWindow: Int?, queries: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: ForwardBatch)

    /// A hint, given before the layer's q|k|v product: start bringing the keys and values the
    /// batch's decode rows will read in `layer` into the caches, so that attention does not wait
    /// on memory for them. Changes nothing; the default does nothing.
    func prefetch(layer: Int, batch: ForwardBatch)
}

extension KVStore {
    public func prefetch(layer: Int, batch: ForwardBatch) {}
}
