import Kernels

/// The running state of the online softmax for `rowCount` (query row, head) pairs, in memory:
///
/// ```
///  base ─► maxima [rowCount] │ sums [rowCount] │ accumulators [rowCount][headSize]
/// ```
///
/// For row `r`, after some tiles: `maxima[r]` is the largest score seen (`-inf` before any
/// visible key), `sums[r] = Σ e^(s − max)` and `accumulators[r] = Σ e^(s − max) · v`. The output
/// is `accumulators / sums`; a row that saw no visible key has `sums == 0` and outputs zeros.
@usableFromInline
struct SoftmaxState {
    @usableFromInline let maxima: UnsafeMutablePointer<Float>
    @usableFromInline let sums: UnsafeMutablePointer<Float>
    @usableFromInline let accumulators: UnsafeMutablePointer<Float>
    @usableFromInline let rowCount: Int
    @usableFromInline let headSize: Int

    @inlinable
    init(base: UnsafeMutablePointer<Float>, rowCount: Int, headSize: Int) {
        maxima = base
        sums = base + rowCount
        accumulators = base + 2 * rowCount
        self.rowCount = rowCount
        self.headSize = headSize
    }

    /// Floats a state of `rowCount` rows occupies.
    @inlinable
    static func floatCount(rowCount: Int, headSize: Int) -> Int { rowCount * (headSize + 2) }

    @inlinable
    func reset() {
        maxima.update(repeating: -.infinity, count: rowCount)
        sums.update(repeating: 0, count: rowCount)
        accumulators.update(repeating: 0, count: rowCount * headSize)
    }

    /// Folds `other` (the state of the following chunk of keys) into this one, row by row:
    /// both rescaled to the larger maximum and added. A row of `other` that saw no visible key
    /// changes nothing; a row of `self` that saw none takes `other`'s as it is. So folding a
    /// row's chunk states in order gives the same bits however the chunks were distributed.
    @inlinable
    func merge(_ other: SoftmaxState) {
        for r in 0..<rowCount {
            let otherMax = other.maxima[r]
            if otherMax == -.infinity { continue }
            let ownMax = maxima[r]
            let accumulator = accumulators + r * headSize, otherAccumulator = other.accumulators + r * headSize
            if ownMax == -.infinity {
                maxima[r] = otherMax
                sums[r] = other.sums[r]
                accumulator.update(from: otherAccumulator, count: headSize)
                continue
            }
            let newMax = max(ownMax, otherMax)
            let scales = VectorMath.exp(SIMD8(ownMax - newMax, otherMax - newMax, 0, 0, 0, 0, 0, 0))
            let ownScale = SIMD8<Float>(repeating: scales[0]), otherScale = SIMD8<Float>(repeating: scales[1])
            sums[r] = sums[r] * scales[0] + other.sums[r] * scales[1]
            maxima[r] = newMax
            for d in stride(from: 0, to: headSize, by: 8) {
                let mine = Float.load8(UnsafeRawPointer(accumulator), at: d) * ownScale
                let merged = VectorMath.multiplyAdd(Float.load8(UnsafeRawPointer(otherAccumulator), at: d), otherScale, mine)
                Float.store8(merged, to: UnsafeMutableRawPointer(accumulator), at: d)
            }
        }
    }

    /// Writes `accumulators[r] / sums[r]` (zeros for a row without visible keys) to
    /// `destination(r)`.
    @inlinable
    func normalize(into destination: (Int) -> UnsafeMutablePointer<Float>) {
        for r in 0..<rowCount {
            let target = UnsafeMutableRawPointer(destination(r))
            let accumulator = UnsafeRawPointer(accumulators + r * headSize)
            let sum = sums[r]
            if sum == 0 {
                target.initializeMemory(as: Float.self, repeating: 0, count: headSize)
                continue
            }
            let divisor = SIMD8<Float>(repeating: sum)
            for d in stride(from: 0, to: headSize, by: 8) {
                Float.store8(Float.load8(accumulator, at: d) / divisor, to: target, at: d)
            }
        }
    }
}
