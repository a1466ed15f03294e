import Kernels
import PagedKVCache

extension AttentionPass {
    /// What one KV tile adds to the softmax states of one KV head of a unit. Plain values and
    /// pointers, built per tile, so that nothing reference-counted is copied in the loop.
    ///
    /// Scratch memory (per worker slot):
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
        @usableFromInline let converted: UnsafeMutablePointer<Float>
        @usableFromInline let rowPointers: UnsafeMutablePointer<UnsafeRawPointer>

        @inlinable
        init(pass: AttentionPass, sequenceIndex: Int, sequence: AttentionSequence, kvHead: Int, rows: Range<Int>,
             scratch: UnsafeMutablePointer<Float>, rowPointers: UnsafeMutablePointer<UnsafeRawPointer>) {
            let shape = pass.shape
            self.sequenceIndex = sequenceIndex
            self.kvLength = sequence.kvLength
            self.kvHead = kvHead
            self.stateCount = rows.count * shape.groupSize
            self.firstPosition = sequence.firstQueryPosition + rows.lowerBound
            self.queryBase = pass.queries + (sequence.queryRows.lowerBound + rows.lowerBound) * shape.queryRowStride
                + kvHead * shape.groupSize * shape.headSize
            self.kvRows = pass.kv.rows(of: sequence, kvHead: kvHead)
            self.scores = scratch
            self.converted = scratch + pass.tileScratchFloatCount - 2 * AttentionTiling.kvTileLength * shape.headSize
            self.rowPointers = rowPointers
        }
    }

    /// Floats of the per-tile scratch: scores and corrections of the largest unit of one KV head,
    /// and two converted tiles.
    @inlinable
    var tileScratchFloatCount: Int {
        AttentionTiling.queryTileLength * shape.groupSize * (AttentionTiling.kvTileLength + 1)
            + 2 * AttentionTiling.kvTileLength * shape.headSize
    }

    /// Adds KV tile `tile` to `state`; `isFull` skips the mask.
    ///
    /// The arithmetic of a (query row, head) state depends only on its query, the tile's keys and
    /// values and its own state, in a fixed order; nothing depends on the other states, on where
    /// the rows are stored, or on how many rows the tile has beyond the row's last visible key
    /// (hidden scores are `-inf`, their weights exactly 0).
    @inlinable
    func accumulate(tile: Int, isFull: Bool, target: TileTarget, into state: SoftmaxState) {
        let tileLength = AttentionTiling.kvTileLength, headSize = shape.headSize
        let firstKey = tile * tileLength
        let count = min(tileLength, target.kvLength - firstKey)
        let keys = target.rowPointers, values = target.rowPointers + tileLength
        // One table lookup per page run; rows past the end repeat the last row: read, then hidden,
        // never outside the page table.
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
        for i in count..<tileLength { keys[i] = keys[count - 1] }
        let corrections = target.scores + target.stateCount * tileLength
        if KV.Element.kvElementType != .f32 && target.stateCount > 1 {
            // Widen the tile once instead of once per state (exact, so the bits are the same).
            for i in 0..<tileLength {
                widen(keys[i], to: target.converted + i * headSize)
                keys[i] = UnsafeRawPointer(target.converted + i * headSize)
            }
            for i in 0..<count {
                widen(values[i], to: target.converted + (tileLength + i) * headSize)
                values[i] = UnsafeRawPointer(target.converted + (tileLength + i) * headSize)
            }
            computeScores(Float.self, target: target, firstKey: firstKey, count: count, isFull: isFull)
            updateSoftmax(state, target: target, corrections: corrections)
            accumulateValues(Float.self, state, target: target, corrections: corrections, count: count)
        } else {
            computeScores(KV.Element.self, target: target, firstKey: firstKey, count: count, isFull: isFull)
            updateSoftmax(state, target: target, corrections: corrections)
            accumulateValues(KV.Element.self, state, target: target, corrections: corrections, count: count)
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
    @inlinable
    func computeScores<Element: KVElement>(
        _: Element.Type, target: TileTarget, firstKey: Int, count: Int, isFull: Bool
    ) {
        let groupSize = shape.groupSize, tileLength = AttentionTiling.kvTileLength
        let scale = SIMD8<Float>(repeating: shape.scale)
        let groups = (count + 7) / 8
        for r in 0..<target.stateCount {
            let row = r / groupSize, g = r - row * groupSize
            let query = UnsafeRawPointer(target.queryBase + row * shape.queryRowStride + g * shape.headSize)
            let position = target.firstPosition + row, head = target.kvHead * groupSize + g
            let rowScores = UnsafeMutableRawPointer(target.scores + r * tileLength)
            for group in 0..<groups {
                let start = firstKey + 8 * group, valid = min(8, count - 8 * group)
                var s = Self.dot8(Element.self, query, target.rowPointers + 8 * group, headSize: shape.headSize) * scale
                if valid == 8 {
                    s = scoreMod.apply(s, target.sequenceIndex, head, position, kvStart: start)
                } else {
                    for lane in 0..<8 {
                        s[lane] = lane < valid ? scoreMod(s[lane], target.sequenceIndex, head, position, start + lane) : -.infinity
                    }
                }
                Float.store8(s, to: rowScores, at: 8 * group)
            }
            for group in groups..<tileLength / 8 {
                Float.store8(SIMD8(repeating: -.infinity), to: rowScores, at: 8 * group)
            }
            if !isFull {
                let s = target.scores + r * tileLength
                for j in 0..<count where !blockMask.mask(target.sequenceIndex, head, position, firstKey + j) {
                    s[j] = -.infinity
                }
            }
        }
    }

    /// Turns each state's scores into weights `e^(s − m)` against its new maximum `m`, and
    /// rescales its sum; the accumulator is rescaled in ``accumulateValues``.
    @inlinable
    func updateSoftmax(_ state: SoftmaxState, target: TileTarget, corrections: UnsafeMutablePointer<Float>) {
        let tileLength = AttentionTiling.kvTileLength
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
            // One exponential call site for the weights and the correction (e^(−inf) == 0: a
            // state's first visible tile wipes its zero sum and accumulator).
            let m = SIMD8<Float>(repeating: newMax)
            var total = SIMD8<Float>(), correction: Float = 0
            for i in 0...tileLength / 8 {
                let isCorrection = i == tileLength / 8
                let x = isCorrection ? SIMD8(repeating: oldMax - newMax) : Float.load8(rowScores, at: 8 * i) - m
                let p = VectorMath.exp(x)
                if isCorrection { correction = p[0] } else {
                    Float.store8(p, to: rowScores, at: 8 * i)
                    total += p
                }
            }
            state.sums[r] = state.sums[r] * correction + VectorMath.sumLanes(total)
            state.maxima[r] = newMax
            corrections[r] = correction
        }
    }

    /// For every state with a visible key: `accumulator = accumulator × correction +
    /// Σ_j weights[j] · values[j]`, in `j` order.
    @inlinable
    func accumulateValues<Element: KVElement>(
        _: Element.Type, _ state: SoftmaxState, target: TileTarget, corrections: UnsafeMutablePointer<Float>, count: Int
    ) {
        let tileLength = AttentionTiling.kvTileLength
        for r in 0..<target.stateCount where corrections[r] >= 0 {
            Self.accumulateValues(
                Element.self, state.accumulators + r * shape.headSize, weights: target.scores + r * tileLength,
                correction: corrections[r], values: target.rowPointers + tileLength, count: count, headSize: shape.headSize)
        }
    }
}
