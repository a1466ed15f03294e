import Foundation
import Sampling
import Testing

struct SamplerTests {
    func sample(_ logits: [Float], _ p: SamplingParameters, count: Int) -> [Int32: Int] {
        var sampler = Sampler(parameters: p)
        var histogram: [Int32: Int] = [:]
        logits.withUnsafeBufferPointer { buffer in
            for _ in 0..<count { histogram[sampler.sample(buffer), default: 0] += 1 }
        }
        return histogram
    }

    @Test func greedyTakesTheFirstLargest() {
        var sampler = Sampler(parameters: .greedy)
        [1, 5, 3, 5].map(Float.init).withUnsafeBufferPointer { #expect(sampler.sample($0) == 1) }
    }

    /// The vectorized argmax against the plain loop (first largest, NaN skipped, 0 when nothing
    /// beats −inf), on rows of every length up to 70 around the vector width, with ties, NaN, ±inf.
    @Test func argmaxIsTheFirstLargestOfAnyRow() {
        var rng = Xoshiro256(seed: 8)
        let specials: [Float] = [.nan, .infinity, -.infinity, 0.5, 0.5]
        for length in 0...70 {
            for _ in 0..<20 {
                var row = (0..<length).map { _ in Float(Int.random(in: -3...3, using: &rng)) / 2 }
                for _ in 0..<Int.random(in: 0...3, using: &rng) where length > 0 {
                    row[Int.random(in: 0..<length, using: &rng)] = specials.randomElement(using: &rng)!
                }
                if Bool.random(using: &rng) { row = row.map { $0.isNaN ? $0 : -.infinity } }
                var expected = 0, best = -Float.infinity
                for (i, v) in row.enumerated() where v > best {
                    expected = i
                    best = v
                }
                row.withUnsafeBufferPointer { #expect(Sampler.argmax($0) == Int32(expected), "\(row)") }
            }
        }
    }

    @Test func topKOfOneIsGreedy() {
        let h = sample([0, 2, 1.9, -1], SamplingParameters(temperature: 1, topK: 1, topP: 1, minP: 0, seed: 3), count: 200)
        #expect(h == [1: 200])
    }

    @Test func sameSeedSameTokens() {
        let logits = (0..<1000).map { Float(sin(Double($0))) * 3 }
        let p = SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1234)
        var a = Sampler(parameters: p), b = Sampler(parameters: p)
        logits.withUnsafeBufferPointer { buffer in
            for _ in 0..<100 { #expect(a.sample(buffer) == b.sample(buffer)) }
        }
    }

    /// With temperature 1 and no filtering, frequencies follow softmax(logits).
    @Test func drawsFollowTheSoftmax() {
        let logits: [Float] = [0, log(2), log(3), log(4)]  // probabilities 0.1, 0.2, 0.3, 0.4
        let n = 40_000
        let h = sample(logits, SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 99), count: n)
        for (i, expected) in [0.1, 0.2, 0.3, 0.4].enumerated() {
            let observed = Double(h[Int32(i), default: 0]) / Double(n)
            // 5 standard deviations of a binomial proportion at n = 40,000 is under 0.013.
            #expect(abs(observed - expected) < 0.013, "token \(i): \(observed) vs \(expected)")
        }
    }

    @Test func topPKeepsTheSmallestSetReachingP() {
        // Probabilities 0.4, 0.3, 0.2, 0.1: top-p 0.65 keeps the first two.
        let logits: [Float] = [log(4), log(3), log(2), log(1)]
        let h = sample(logits, SamplingParameters(temperature: 1, topK: 0, topP: 0.65, minP: 0, seed: 5), count: 5000)
        #expect(Set(h.keys) == [0, 1])
    }

    @Test func minPDropsUnlikelyTokens() {
        // Relative to the top (0.4): 0.3 → 0.75, 0.2 → 0.5, 0.1 → 0.25; min-p 0.4 keeps three.
        let logits: [Float] = [log(4), log(3), log(2), log(1)]
        let h = sample(logits, SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0.4, seed: 6), count: 5000)
        #expect(Set(h.keys) == [0, 1, 2])
    }

    @Test func topKKeepsTheKLargest() {
        let logits: [Float] = [5, 1, 4, 0, 3, 2]
        let h = sample(logits, SamplingParameters(temperature: 5, topK: 3, topP: 1, minP: 0, seed: 7), count: 3000)
        #expect(Set(h.keys) == [0, 2, 4])
    }

    @Test func invalidParametersAreRefused() {
        #expect(throws: SamplingError.self) { try SamplingParameters(temperature: -1).validate() }
        #expect(throws: SamplingError.self) { try SamplingParameters(topP: 0).validate() }
        #expect(throws: SamplingError.self) { try SamplingParameters(topK: -2).validate() }
        #expect(throws: SamplingError.self) { try SamplingParameters(minP: 1).validate() }
        #expect(throws: Never.self) { try SamplingParameters().validate() }
    }

    @Test func stopConditions() {
        let stop = StopConditions(maxTokens: 3, stopTokens: [2], stopStrings: ["\n\n", "END"])
        #expect(stop.reason(after: 2, generatedCount: 1) == .stopToken)
        #expect(stop.reason(after: 5, generatedCount: 3) == .length)
        #expect(stop.reason(after: 5, generatedCount: 2) == nil)
        let text = "abc END x\n\n"
        #expect(stop.stopStringRange(in: text).map { text[..<$0.lowerBound] } == "abc ")
        #expect(stop.stopStringRange(in: "nothing") == nil)
    }
}

/// Rows of logits from bad weights: NaN and infinities never crash the sampler, and a NaN
/// logit is never chosen while any number is there.
struct SamplerHostileLogitsTests {
    static let settings: [SamplingParameters] = [
        .greedy,
        SamplingParameters(temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1),
        SamplingParameters(temperature: 0.8, topK: 2, topP: 0.9, minP: 0.05, seed: 2),
        SamplingParameters(temperature: 1e30, topK: 0, topP: 0.5, minP: 0.5, seed: 3),
        SamplingParameters(temperature: 1e-30, topK: 3, topP: 1, minP: 0, seed: 4),
    ]

    func draws(_ logits: [Float], _ p: SamplingParameters) -> Set<Int32> {
        var sampler = Sampler(parameters: p)
        return logits.withUnsafeBufferPointer { row in Set((0..<200).map { _ in sampler.sample(row) }) }
    }

    @Test(arguments: settings)
    func nanLogitsAreNeverChosen(p: SamplingParameters) {
        let got = draws([.nan, 1, .nan, 2, .nan, 0.5], p)
        #expect(got.isSubset(of: [1, 3, 5]), "\(got)")
    }

    @Test(arguments: settings)
    func anAllNaNRowGivesTokenZero(p: SamplingParameters) {
        #expect(draws([Float](repeating: .nan, count: 7), p) == [0])
        #expect(draws([-.infinity, -.infinity], p) == [0])
    }

    @Test(arguments: settings)
    func infinitiesAreHandled(p: SamplingParameters) {
        #expect(draws([1, .infinity, .nan, .infinity], p) == [1])
        let got = draws([-.infinity, 3, -.infinity, 2.5], p)
        #expect(got.isSubset(of: [1, 3]) && !got.isEmpty)
    }
}
