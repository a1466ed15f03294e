import Foundation
import Kernels

/// Chooses tokens from logits under one request's ``SamplingParameters``. Holds its generator and
/// a candidate buffer reused across steps, so sampling allocates nothing per token once warm.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var rng: Xoshiro256
    private var candidates: [Candidate] = []
    /// The top-k heap, reused.
    private var largest: [(value: Float, index: Int)] = []

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

    /// The `k` largest finite logits into `candidates` (unordered; ties to the lower token).
    private mutating func selectTopK(_ logits: UnsafeBufferPointer<Float>, k: Int) {
        // −∞ has no probability: it is among the k largest only where fewer than k are finite.
        Elementwise.largest(logits.baseAddress!, count: logits.count, k: k, into: &largest)
        for (logit, token) in largest where logit.isFinite { candidates.append(Candidate(token: Int32(token), logit: logit)) }
    }

    /// The index of the largest logit, the first on ties; NaN logits are skipped (a row of NaN
    /// only gives 0).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        guard let p = logits.baseAddress else { return 0 }
        return Int32(Elementwise.argmax(p, count: logits.count))
    }
}
