import Foundation

/// Chooses tokens from logits under one request's ``SamplingParameters``. Holds its generator and
/// a candidate buffer reused across steps, so sampling allocates nothing per token once warm.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: Xoshiro256
    private var candidates: [Candidate] = []

    struct Candidate: Sendable {
        var token: Int32
        var logit: Float
    }

    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        rng = Xoshiro256(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// The next token for one row of logits.
    ///
    /// Logits that are not numbers (NaN, from bad weights) are never chosen, nor are −∞ ones; a
    /// row with a +∞ logit, or with no other logit, yields its ``argmax(_:)``.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        precondition(!logits.isEmpty, "no logits to sample from")
        if parameters.isGreedy { return Self.argmax(logits) }
        let t = parameters.temperature
        var maxLogit = -Float.infinity
        for l in logits where l > maxLogit { maxLogit = l }  // NaN compares false: skipped
        guard maxLogit.isFinite else { return Self.argmax(logits) }

        // Candidates: the top-k by logit, or, without top-k, every token whose probability is
        // at least e^-25 (≈1.4e-11) of the top one: all the others together hold less than
        // 49152 × 1.4e-11 ≈ 7e-7 of the mass, below anything top-p or a draw could resolve.
        candidates.removeAll(keepingCapacity: true)
        if parameters.topK > 0 && parameters.topK < logits.count {
            selectTopK(logits, k: parameters.topK)
        } else {
            let floor = maxLogit - 25 * t
            for (i, l) in logits.enumerated() where l >= floor { candidates.append(Candidate(token: Int32(i), logit: l)) }
        }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.token < $1.token) }

        // Softmax over the candidates at temperature t (as doubles: they are few).
        var probabilities = candidates.map { Foundation.exp(Double(($0.logit - maxLogit) / t)) }
        var total = probabilities.reduce(0, +)
        var keep = candidates.count
        if parameters.minP > 0 {
            let floor = Double(parameters.minP) * probabilities[0]
            keep = probabilities.prefix(keep).firstIndex { $0 < floor } ?? keep
        }
        if parameters.topP < 1 {
            total = probabilities.prefix(keep).reduce(0, +)
            var cumulative = 0.0
            for i in 0..<keep {
                cumulative += probabilities[i]
                if cumulative >= Double(parameters.topP) * total {
                    keep = i + 1
                    break
                }
            }
        }
        probabilities.removeSubrange(keep...)
        total = probabilities.reduce(0, +)
        let draw = Double(rng.nextUnitFloat()) * total
        var cumulative = 0.0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if draw < cumulative { return candidates[i].token }
        }
        return candidates[keep - 1].token
    }

    /// The `k` largest finite logits into `candidates` (unordered), with a min-heap.
    private mutating func selectTopK(_ logits: UnsafeBufferPointer<Float>, k: Int) {
        // Heap ordered by (logit ascending, token descending): the root is the weakest kept.
        func weaker(_ a: Candidate, _ b: Candidate) -> Bool { a.logit < b.logit || (a.logit == b.logit && a.token > b.token) }
        func siftDown(_ i: Int) {
            var i = i
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < candidates.count && weaker(candidates[l], candidates[m]) { m = l }
                if r < candidates.count && weaker(candidates[r], candidates[m]) { m = r }
                if m == i { return }
                candidates.swapAt(i, m)
                i = m
            }
        }
        // Only finite logits enter (the caller saw the largest is finite): NaN would break the
        // heap's order and −∞ has no probability.
        var i = 0
        while i < logits.count && candidates.count < k {
            if logits[i].isFinite { candidates.append(Candidate(token: Int32(i), logit: logits[i])) }
            i += 1
        }
        for j in stride(from: candidates.count / 2 - 1, through: 0, by: -1) { siftDown(j) }
        while i < logits.count {
            if logits[i].isFinite && logits[i] > candidates[0].logit {
                candidates[0] = Candidate(token: Int32(i), logit: logits[i])
                siftDown(0)
            }
            i += 1
        }
    }

    /// The index of the largest logit, the first on ties; NaN logits are skipped (a row of NaN
    /// only gives 0).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        // The largest value in vectors of 8 (a lane keeps its value where the new one is not
        // larger, so NaN never enters), then its first index: Gemma 3's 262,144 logits a token.
        guard let p = logits.baseAddress else { return 0 }
        let n = logits.count, whole = n / 8 * 8
        func load(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) }
        func larger(_ m: SIMD8<Float>, _ v: SIMD8<Float>) -> SIMD8<Float> { m.replacing(with: v, where: m .< v) }
        var m0 = SIMD8<Float>(repeating: -.infinity), m1 = m0
        var i = 0
        while i + 16 <= whole {
            m0 = larger(m0, load(i))
            m1 = larger(m1, load(i + 8))
            i += 16
        }
        if i < whole { m0 = larger(m0, load(i)) }
        let m = larger(m0, m1)
        var top = -Float.infinity
        for lane in 0..<8 where m[lane] > top { top = m[lane] }
        for j in whole..<n where p[j] > top { top = p[j] }
        guard top > -.infinity else { return 0 }
        let wanted = SIMD8<Float>(repeating: top)
        var r = 0
        while r < whole && !any(load(r) .== wanted) { r += 8 }
        while p[r] != top { r += 1 }
        return Int32(r)
    }
}
