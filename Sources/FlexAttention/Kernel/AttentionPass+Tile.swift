import Kernels

extension AttentionPass {
    /// The work on one KV tile for the states of one unit: scores, online softmax update, value
    /// accumulation. The arithmetic of a (query row, head) state depends only on its query, the
    /// tile's keys and values and its own state, in a fixed order; nothing depends on the other
    /// states of the unit, on where the rows are stored, or on how many rows the tile has beyond
    /// the row's last visible key (hidden scores are `-inf`, their weights exactly 0).
    ///
    /// Scratch memory (per worker slot):
    ///
    /// ```
    ///  scores      [stateCount][kvTileLength]   scores, then softmax weights
    ///  corrections [stateCount]                 e^(old max − new max), or −1: nothing visible
    ///  rowPointers [kvTileLength] keys, [kvTileLength] values
    /// ```
    @usableFromInline
    struct TileAccumulator {
        @usableFromInline let pass: AttentionPass
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
        @usableFromInline let rowPointers: UnsafeMutablePointer<UnsafeRawPointer>

        @inlinable
        init(pass: AttentionPass, sequenceIndex: Int, sequence: AttentionSequence, kvHead: Int, rows: Range<Int>,
             scores: UnsafeMutablePointer<Float>, rowPointers: UnsafeMutablePointer<UnsafeRawPointer>) {
            self.pass = pass
            self.sequenceIndex = sequenceIndex
            self.kvLength = sequence.kvLength
            self.kvHead = kvHead
            self.stateCount = rows.count * pass.shape.groupSize
            self.firstPosition = sequence.firstQueryPosition + rows.lowerBound
            self.queryBase = pass.queries + (sequence.queryRows.lowerBound + rows.lowerBound) * pass.shape.queryRowStride
                + kvHead * pass.shape.groupSize * pass.shape.headSize
            self.kvRows = pass.kv.rows(of: sequence, kvHead: kvHead)
            self.scores = scores
            self.rowPointers = rowPointers
        }

        /// Adds KV tile `tile` to `state`; `isFull` skips the mask.
        @inlinable
        func accumulate(tile: Int, isFull: Bool, into state: SoftmaxState) {
            let tileLength = AttentionTiling.kvTileLength
            let firstKey = tile * tileLength
            let count = min(tileLength, kvLength - firstKey)
            let keys = rowPointers, values = rowPointers + tileLength
            // Rows past the end repeat the last row: read, then hidden; never outside the table.
            for j in 0..<tileLength { keys[j] = kvRows.key(at: firstKey + min(j, count - 1)) }
            for j in 0..<count { values[j] = kvRows.value(at: firstKey + j) }
            computeScores(firstKey: firstKey, count: count, isFull: isFull)
            let corrections = scores + stateCount * tileLength
            updateSoftmax(state, corrections: corrections)
            for r in 0..<stateCount where corrections[r] >= 0 {
                Self.accumulateValues(
                    state.accumulators + r * pass.shape.headSize, weights: scores + r * tileLength,
                    correction: corrections[r], values: values, count: count, headSize: pass.shape.headSize)
            }
        }

        /// `scores[r][j] = scoreMod(q_r · k_j × scale)`, or `-inf` where masked or past the end.
        @inlinable
        func computeScores(firstKey: Int, count: Int, isFull: Bool) {
            let shape = pass.shape, groupSize = shape.groupSize, tileLength = AttentionTiling.kvTileLength
            let scale = SIMD8<Float>(repeating: shape.scale)
            let groups = (count + 7) / 8
            for r in 0..<stateCount {
                let row = r / groupSize, g = r - row * groupSize
                let query = UnsafeRawPointer(queryBase + row * shape.queryRowStride + g * shape.headSize)
                let position = firstPosition + row, head = kvHead * groupSize + g
                let rowScores = UnsafeMutableRawPointer(scores + r * tileLength)
                for group in 0..<groups {
                    let start = firstKey + 8 * group, valid = min(8, count - 8 * group)
                    var s = Self.dot8(query, rowPointers + 8 * group, headSize: shape.headSize) * scale
                    if valid == 8 {
                        s = pass.scoreMod.apply(s, sequenceIndex, head, position, kvStart: start)
                    } else {
                        for lane in 0..<8 {
                            s[lane] = lane < valid ? pass.scoreMod(s[lane], sequenceIndex, head, position, start + lane) : -.infinity
                        }
                    }
                    Float.store8(s, to: rowScores, at: 8 * group)
                }
                for group in groups..<tileLength / 8 {
                    Float.store8(SIMD8(repeating: -.infinity), to: rowScores, at: 8 * group)
                }
                if !isFull {
                    let s = scores + r * tileLength
                    for j in 0..<count where !pass.blockMask.mask(sequenceIndex, head, position, firstKey + j) {
                        s[j] = -.infinity
                    }
                }
            }
        }

        /// Turns each state's scores into weights `e^(s − m)` against its new maximum `m`, and
        /// rescales its sum; the accumulator is rescaled in ``accumulateValues``.
        @inlinable
        func updateSoftmax(_ state: SoftmaxState, corrections: UnsafeMutablePointer<Float>) {
            let tileLength = AttentionTiling.kvTileLength
            for r in 0..<stateCount {
                let rowScores = UnsafeMutableRawPointer(scores + r * tileLength)
                let s0 = Float.load8(rowScores, at: 0), s1 = Float.load8(rowScores, at: 8)
                let s2 = Float.load8(rowScores, at: 16), s3 = Float.load8(rowScores, at: 24)
                let tileMax = VectorMath.maximumLane(
                    VectorMath.maximum(VectorMath.maximum(s0, s1), VectorMath.maximum(s2, s3)))
                if tileMax == -.infinity {
                    corrections[r] = -1
                    continue
                }
                let oldMax = state.maxima[r], newMax = max(oldMax, tileMax)
                let m = SIMD8<Float>(repeating: newMax)
                let p0 = VectorMath.exp(s0 - m), p1 = VectorMath.exp(s1 - m)
                let p2 = VectorMath.exp(s2 - m), p3 = VectorMath.exp(s3 - m)
                Float.store8(p0, to: rowScores, at: 0)
                Float.store8(p1, to: rowScores, at: 8)
                Float.store8(p2, to: rowScores, at: 16)
                Float.store8(p3, to: rowScores, at: 24)
                // e^(−inf) == 0: a state's first visible tile wipes its (zero) sum and accumulator.
                let correction = VectorMath.exp(SIMD8(repeating: oldMax - newMax))[0]
                state.sums[r] = state.sums[r] * correction + VectorMath.sumLanes((p0 + p1) + (p2 + p3))
                state.maxima[r] = newMax
                corrections[r] = correction
            }
        }

        /// Eight dot products of one query with eight key rows, reduced together.
        @inlinable @inline(__always)
        static func dot8(_ query: UnsafeRawPointer, _ keys: UnsafePointer<UnsafeRawPointer>, headSize: Int) -> SIMD8<Float> {
            let k0 = keys[0], k1 = keys[1], k2 = keys[2], k3 = keys[3]
            let k4 = keys[4], k5 = keys[5], k6 = keys[6], k7 = keys[7]
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var d = 0
            while d < headSize {
                let q = Float.load8(query, at: d)
                a0 = VectorMath.multiplyAdd(q, KV.Element.load8(k0, at: d), a0)
                a1 = VectorMath.multiplyAdd(q, KV.Element.load8(k1, at: d), a1)
                a2 = VectorMath.multiplyAdd(q, KV.Element.load8(k2, at: d), a2)
                a3 = VectorMath.multiplyAdd(q, KV.Element.load8(k3, at: d), a3)
                a4 = VectorMath.multiplyAdd(q, KV.Element.load8(k4, at: d), a4)
                a5 = VectorMath.multiplyAdd(q, KV.Element.load8(k5, at: d), a5)
                a6 = VectorMath.multiplyAdd(q, KV.Element.load8(k6, at: d), a6)
                a7 = VectorMath.multiplyAdd(q, KV.Element.load8(k7, at: d), a7)
                d &+= 8
            }
            return VectorMath.transposedSums(a0, a1, a2, a3, a4, a5, a6, a7)
        }

        /// `accumulator = accumulator × correction + Σ_j weights[j] · values[j]`, in `j` order,
        /// 32 dimensions at a time held in registers.
        @inlinable @inline(__always)
        static func accumulateValues(
            _ accumulator: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>, correction: Float,
            values: UnsafePointer<UnsafeRawPointer>, count: Int, headSize: Int
        ) {
            let target = UnsafeMutableRawPointer(accumulator)
            let c = SIMD8<Float>(repeating: correction)
            var d = 0
            while d + 32 <= headSize {
                var a0 = Float.load8(target, at: d), a1 = Float.load8(target, at: d + 8)
                var a2 = Float.load8(target, at: d + 16), a3 = Float.load8(target, at: d + 24)
                if correction != 1 {
                    a0 *= c; a1 *= c; a2 *= c; a3 *= c
                }
                for j in 0..<count {
                    let w = SIMD8<Float>(repeating: weights[j]), v = values[j]
                    a0 = VectorMath.multiplyAdd(w, KV.Element.load8(v, at: d), a0)
                    a1 = VectorMath.multiplyAdd(w, KV.Element.load8(v, at: d + 8), a1)
                    a2 = VectorMath.multiplyAdd(w, KV.Element.load8(v, at: d + 16), a2)
                    a3 = VectorMath.multiplyAdd(w, KV.Element.load8(v, at: d + 24), a3)
                }
                Float.store8(a0, to: target, at: d)
                Float.store8(a1, to: target, at: d + 8)
                Float.store8(a2, to: target, at: d + 16)
                Float.store8(a3, to: target, at: d + 24)
                d += 32
            }
            while d < headSize {
                var a = Float.load8(target, at: d)
                if correction != 1 { a *= c }
                for j in 0..<count {
                    a = VectorMath.multiplyAdd(SIMD8(repeating: weights[j]), KV.Element.load8(values[j], at: d), a)
                }
                Float.store8(a, to: target, at: d)
                d += 8
            }
        }
    }
}
