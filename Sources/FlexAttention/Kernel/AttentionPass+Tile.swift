import Kernels
import PagedKVCache

extension AttentionPass {
    /// What one KV tile adds to the softmax states of one KV head of a unit. Plain values and
    /// pointers, built per tile and head, so that nothing reference-counted is copied in the loop.
    ///
    /// Scratch memory, per KV head of the unit (a worker slot holds one block per head):
    ///
    /// ```
    ///  scores      [stateCount][kvTileLength]       scores, then softmax weights
    ///  corrections [stateCount]                     e^(old max − new max), or −1: nothing visible
    ///  converted   [kvTileLength][headSize] × 2     F16 tiles widened once (K, then V)
    ///  rowPointers [kvTileLength] keys, [kvTileLength] values
    /// ```
    @usableFromInline
    struct TileTarget {
        @usableFromInline let sequenceIndex: Int
        @usableFromInline let kvLength: Int
        @usableFromInline let kvHead: Int
        @usableFromInline let stateCount: Int
        /// Position of the unit's first query row.
        @usableFromInline let firstPosition: Int
        /// The unit's first query row, at its KV head's first query head.
        @usableFromInline let queryBase: UnsafePointer<Float>
        @usableFromInline let kvRows: KV.Rows
        @usableFromInline let scores: UnsafeMutablePointer<Float>
        @usableFromInline let corrections: UnsafeMutablePointer<Float>
        @usableFromInline let converted: UnsafeMutablePointer<Float>
        @usableFromInline let rowPointers: UnsafeMutablePointer<UnsafeRawPointer>

        /// The target of the `index`th KV head of a unit, `kvHead`.
        @inlinable
        init(pass: AttentionPass, sequenceIndex: Int, sequence: AttentionSequence, kvHead: Int, index: Int,
             rows: Range<Int>, scratch: UnsafeMutablePointer<Float>, rowPointers: UnsafeMutablePointer<UnsafeRawPointer>) {
            let shape = pass.shape, tileLength = AttentionTiling.kvTileLength
            self.sequenceIndex = sequenceIndex
            self.kvLength = sequence.kvLength
            self.kvHead = kvHead
            self.stateCount = rows.count * shape.groupSize
            self.firstPosition = sequence.firstQueryPosition + rows.lowerBound
            self.queryBase = pass.queries + (sequence.queryRows.lowerBound + rows.lowerBound) * shape.queryRowStride
                + kvHead * shape.groupSize * shape.headSize
            self.kvRows = pass.kv.rows(of: sequence, kvHead: kvHead)
            let block = scratch + index * pass.tileScratchFloatCount(stateCount: stateCount)
            self.scores = block
            self.corrections = block + stateCount * tileLength
            self.converted = block + stateCount * (tileLength + 1)
            self.rowPointers = rowPointers + index * 2 * tileLength
        }
    }

    /// Floats of the tile scratch of one KV head with `stateCount` states.
    @inlinable
    func tileScratchFloatCount(stateCount: Int) -> Int {
        stateCount * (AttentionTiling.kvTileLength + 1) + 2 * AttentionTiling.kvTileLength * shape.headSize
    }

    /// Adds KV tile `tile` to the states of the unit's KV heads (`states`: one ``SoftmaxState``
    /// per head, as ``headState(_:rows:index:)`` lays them out); `isFull` skips the mask.
    ///
    /// In three phases over the heads: keys and scores of every head, then the softmax updates,
    /// then the values of every head. A page holds the keys of all heads of a layer back to back,
    /// then their values, so each phase reads one stretch of the page front to back.
    ///
    /// The arithmetic of a (query row, head) state depends only on its query, the tile's keys and
    /// values and its own state, in a fixed order; nothing depends on the other states, on where
    /// the rows are stored, or on how many rows the tile has beyond the row's last visible key
    /// (hidden scores are `-inf`, their weights exactly 0).
    @inlinable
    func accumulate(
        tile: Int, isFull: Bool, sequenceIndex: Int, sequence: AttentionSequence, kvHeads: Range<Int>, rows: Range<Int>,
        states: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        rowPointers: UnsafeMutablePointer<UnsafeRawPointer>
    ) {
        let tileLength = AttentionTiling.kvTileLength
        let firstKey = tile * tileLength
        let count = min(tileLength, sequence.kvLength - firstKey)
        // Widen F16 tiles once instead of once per pair of states when there are more than two
        // pairs (exact, so the bits are the same; decode's few states convert as they load).
        let widens = KV.Element.kvElementType != .f32 && rows.count * shape.groupSize > 4
        func target(_ index: Int) -> TileTarget {
            TileTarget(pass: self, sequenceIndex: sequenceIndex, sequence: sequence, kvHead: kvHeads.lowerBound + index,
                       index: index, rows: rows, scratch: scratch, rowPointers: rowPointers)
        }
        for index in 0..<kvHeads.count {
            let target = target(index)
            gatherRows(target, firstKey: firstKey, count: count, widen: widens)
            if widens {
                computeScores(Float.self, target: target, firstKey: firstKey, count: count, isFull: isFull)
            } else {
                computeScores(KV.Element.self, target: target, firstKey: firstKey, count: count, isFull: isFull)
            }
        }
        for index in 0..<kvHeads.count {
            updateSoftmax(headState(states, rows: rows, index: index), target: target(index))
        }
        for index in 0..<kvHeads.count {
            let state = headState(states, rows: rows, index: index), target = target(index)
            if widens {
                widenRows(target.rowPointers + tileLength, count: count,
                          into: target.converted + tileLength * shape.headSize)
                accumulateValues(Float.self, state, target: target, count: count)
            } else {
                accumulateValues(KV.Element.self, state, target: target, count: count)
            }
        }
    }

    /// Asks for the key and value rows of positions `first..<first + count` (those below the
    /// sequence's length), one range per page run.
    @inlinable
    func prefetchRows(_ kvRows: KV.Rows, from first: Int, count: Int, kvLength: Int) {
        let end = min(kvLength, first + count)
        var position = first
        while position < end {
            let run = min(end - position, kvRows.runLength(from: position))
            Prefetch.range(kvRows.key(at: position), bytes: run * kvRows.rowByteStride)
            Prefetch.range(kvRows.value(at: position), bytes: run * kvRows.rowByteStride)
            position += run
        }
    }

    /// Fills the target's row pointers for the tile's `count` keys and values (the keys pointing
    /// at widened copies when `widen`; the values are widened just before they are used). One
    /// table lookup per page run; key rows past the end repeat the last row: read, then hidden,
    /// never outside the page table.
    @inlinable
    func gatherRows(_ target: TileTarget, firstKey: Int, count: Int, widen: Bool) {
        let tileLength = AttentionTiling.kvTileLength
        let keys = target.rowPointers, values = target.rowPointers + tileLength
        let stride = target.kvRows.rowByteStride
        var j = 0
        while j < count {
            let runEnd = min(count, j + target.kvRows.runLength(from: firstKey + j))
            let key = target.kvRows.key(at: firstKey + j), value = target.kvRows.value(at: firstKey + j)
            for i in j..<runEnd {
                keys[i] = key + (i - j) * stride
                values[i] = value + (i - j) * stride
            }
            j = runEnd
        }
        if widen { widenRows(keys, count: count, into: target.converted) }
        for i in count..<tileLength { keys[i] = keys[count - 1] }
    }

    /// Widens `count` rows to floats at `destination`, one row after the other, and points the
    /// row pointers at the copies.
    @inlinable
    func widenRows(_ rows: UnsafeMutablePointer<UnsafeRawPointer>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            widen(rows[i], to: destination + i * shape.headSize)
            rows[i] = UnsafeRawPointer(destination + i * shape.headSize)
        }
    }

    /// One row of elements as floats.
    @inlinable @inline(__always)
    func widen(_ row: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>) {
        var d = 0
        while d < shape.headSize {
            Float.store8(KV.Element.load8(row, at: d), to: UnsafeMutableRawPointer(destination), at: d)
            d &+= 8
        }
    }

    /// `scores[r][j] = scoreMod(q_r · k_j × scale)`, or `-inf` where masked or past the end.
    /// States are taken two at a time (each key row loaded once for both), the last odd one
    /// alone; either way each score is the same sum in the same order (see ``dot8(_:_:_:headSize:)``).
    @inlinable
    func computeScores<Element: KVElement>(
        _: Element.Type, target: TileTarget, firstKey: Int, count: Int, isFull: Bool
    ) {
        let tileLength = AttentionTiling.kvTileLength, headSize = shape.headSize
        let groups = (count + 7) / 8
        // A decode unit computes too little per key to hide a miss: with every group of eight keys
        // it asks for the same eight rows of the next tile, keys and values, so that the misses
        // are in flight a tile ahead and spread through the arithmetic (a burst of a whole tile's
        // requests would wait on the core's few miss buffers instead). Hints only: the bits are
        // the same.
        let prefetches = AttentionPrefetch.nextTile && target.stateCount <= AttentionWorkspace.maxSplitRows * shape.groupSize
        let next = firstKey + tileLength
        var r = 0
        while r < target.stateCount {
            let paired = r + 1 < target.stateCount
            let first = UnsafeRawPointer(queryRow(target, state: r)), second = UnsafeRawPointer(queryRow(target, state: r + 1))
            for group in 0..<groups {
                if prefetches && r == 0 {
                    prefetchRows(target.kvRows, from: next + 8 * group, count: 8, kvLength: target.kvLength)
                }
                let keys = target.rowPointers + 8 * group
                if paired {
                    let low = Self.dot2x4(Element.self, first, second, keys, headSize: headSize)
                    let high = Self.dot2x4(Element.self, first, second, keys + 4, headSize: headSize)
                    storeScores(SIMD8(lowHalf: low.lowHalf, highHalf: high.lowHalf), target: target, state: r,
                                group: group, firstKey: firstKey, count: count)
                    storeScores(SIMD8(lowHalf: low.highHalf, highHalf: high.highHalf), target: target, state: r + 1,
                                group: group, firstKey: firstKey, count: count)
                } else {
                    storeScores(Self.dot8(Element.self, first, keys, headSize: headSize), target: target, state: r,
                                group: group, firstKey: firstKey, count: count)
                }
            }
            for state in r..<r + (paired ? 2 : 1) {
                let rowScores = target.scores + state * tileLength
                for group in groups..<tileLength / 8 {
                    Float.store8(SIMD8(repeating: -.infinity), to: UnsafeMutableRawPointer(rowScores), at: 8 * group)
                }
                if !isFull {
                    let (position, head) = coordinates(target, state: state)
                    for j in 0..<count where !blockMask.mask(target.sequenceIndex, head, position, firstKey + j) {
                        rowScores[j] = -.infinity
                    }
                }
            }
            r += paired ? 2 : 1
        }
    }

    /// The query of state `r` (row `r / groupSize`, head `r % groupSize` of the KV head's group).
    @inlinable @inline(__always)
    func queryRow(_ target: TileTarget, state r: Int) -> UnsafePointer<Float> {
        let row = r / shape.groupSize
        return target.queryBase + row * shape.queryRowStride + (r - row * shape.groupSize) * shape.headSize
    }

    /// The query position and query head of state `r`.
    @inlinable @inline(__always)
    func coordinates(_ target: TileTarget, state r: Int) -> (position: Int, head: Int) {
        let row = r / shape.groupSize
        return (target.firstPosition + row, target.kvHead * shape.groupSize + r - row * shape.groupSize)
    }

    /// Scales eight dot products of state `r`, applies the score modifier (lanes past the tile's
    /// `count` keys become `-inf`) and stores them as the state's scores of key group `group`.
    @inlinable @inline(__always)
    func storeScores(_ dots: SIMD8<Float>, target: TileTarget, state r: Int, group: Int, firstKey: Int, count: Int) {
        let (position, head) = coordinates(target, state: r)
        let start = firstKey + 8 * group, valid = min(8, count - 8 * group)
        var s = dots * SIMD8(repeating: shape.scale)
        if valid == 8 {
            s = scoreMod.apply(s, target.sequenceIndex, head, position, kvStart: start)
        } else {
            for lane in 0..<8 {
                s[lane] = lane < valid ? scoreMod(s[lane], target.sequenceIndex, head, position, start + lane) : -.infinity
            }
        }
        Float.store8(s, to: UnsafeMutableRawPointer(target.scores + r * AttentionTiling.kvTileLength), at: 8 * group)
    }

    /// Turns each state's scores into weights `e^(s − m)` against its new maximum `m`, and
    /// rescales its sum; the accumulator is rescaled in ``accumulateValues``.
    @inlinable
    func updateSoftmax(_ state: SoftmaxState, target: TileTarget) {
        let tileLength = AttentionTiling.kvTileLength, corrections = target.corrections
        for r in 0..<target.stateCount {
            let rowScores = UnsafeMutableRawPointer(target.scores + r * tileLength)
            var tileMax = Float.load8(rowScores, at: 0)
            for i in 1..<tileLength / 8 { tileMax = VectorMath.maximum(tileMax, Float.load8(rowScores, at: 8 * i)) }
            let tileMaximum = VectorMath.maximumLane(tileMax)
            if tileMaximum == -.infinity {
                corrections[r] = -1
                continue
            }
            let oldMax = state.maxima[r], newMax = max(oldMax, tileMaximum)
            let m = SIMD8<Float>(repeating: newMax)
            var total = SIMD8<Float>()
            for i in 0..<tileLength / 8 {
                let p = VectorMath.exp(Float.load8(rowScores, at: 8 * i) - m)
                Float.store8(p, to: rowScores, at: 8 * i)
                total += p
            }
            // e^(old − new); its two common values without the call, bit for bit what it returns:
            // e^0 == 1 (the maximum did not move) and e^(−inf) == 0 (the state's first visible
            // tile, which wipes its zero sum and accumulator).
            let correction: Float = oldMax == newMax ? 1
                : oldMax == -.infinity ? 0 : VectorMath.exp(SIMD8(repeating: oldMax - newMax))[0]
            state.sums[r] = state.sums[r] * correction + VectorMath.sumLanes(total)
            state.maxima[r] = newMax
            corrections[r] = correction
        }
    }

    /// For every state with a visible key: `accumulator = accumulator × correction +
    /// Σ_j weights[j] · values[j]`, in `j` order; two states at a time (each value row loaded once
    /// for both), with the same operations per state as one at a time.
    @inlinable
    func accumulateValues<Element: KVElement>(
        _: Element.Type, _ state: SoftmaxState, target: TileTarget, count: Int
    ) {
        let tileLength = AttentionTiling.kvTileLength, corrections = target.corrections, headSize = shape.headSize
        let values = target.rowPointers + tileLength
        var pending = -1  // a state with visible keys waiting for a partner
        for r in 0..<target.stateCount where corrections[r] >= 0 {
            guard pending >= 0 else {
                pending = r
                continue
            }
            Self.accumulateValuePair(
                Element.self, state.accumulators + pending * headSize, state.accumulators + r * headSize,
                weights: target.scores + pending * tileLength, target.scores + r * tileLength,
                corrections: corrections[pending], corrections[r], values: values, count: count, headSize: headSize)
            pending = -1
        }
        if pending >= 0 {
            Self.accumulateValues(
                Element.self, state.accumulators + pending * headSize, weights: target.scores + pending * tileLength,
                correction: corrections[pending], values: values, count: count, headSize: headSize)
        }
    }
}
