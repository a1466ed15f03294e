#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the forward passes spend their time, stage by stage: opt-in (``LlamaState/profile``), for
/// `pagedflex bench decode --profile`. Decode steps (every sequence of the batch computes one
/// token) and steps with prompt tokens are kept apart. A stage's bytes are the weight bytes its
/// matrix products read, so bytes ÷ seconds is the rate at which it streams its weights.
public struct ForwardProfile: Sendable, Hashable, Codable {
    public enum Stage: String, Sendable, Hashable, Codable, CaseIterable, CodingKeyRepresentable {
        case embedding, attentionNorm, quantize, qkv, qkNormRope, kvWrite, attention, attentionOutput, residual
        case feedForwardNorm, gateUp, activation, down, outputNorm, output
        /// Whether the stage is a matrix product over weights.
        public var isMatmul: Bool { [.qkv, .attentionOutput, .gateUp, .down, .output].contains(self) }
    }

    public struct Totals: Sendable, Hashable, Codable {
        public var seconds: Double = 0
        public var weightBytes: Int = 0
        public var calls: Int = 0
    }

    /// The stage totals of one kind of step.
    public struct Steps: Sendable, Hashable, Codable {
        public var stages: [Stage: Totals] = [:]
        /// Forward passes and the tokens they computed.
        public var steps = 0
        public var tokens = 0
        /// Output rows computed in full by the shadowed output products (``ArgmaxShadow``: greedy
        /// and top-k steps).
        public var argmaxRows = 0

        public init() {}

        public var seconds: Double { stages.values.reduce(0) { $0 + $1.seconds } }

        /// What happened between `earlier` and these totals.
        public func subtracting(_ earlier: Steps) -> Steps {
            var d = Steps()
            d.steps = steps - earlier.steps
            d.tokens = tokens - earlier.tokens
            d.argmaxRows = argmaxRows - earlier.argmaxRows
            for (stage, t) in stages {
                let e = earlier.stages[stage] ?? Totals()
                d.stages[stage] = Totals(seconds: t.seconds - e.seconds, weightBytes: t.weightBytes - e.weightBytes, calls: t.calls - e.calls)
            }
            return d
        }

        mutating func add(_ stage: Stage, seconds: Double, weightBytes: Int) {
            var t = stages[stage] ?? Totals()
            t.seconds += seconds
            t.weightBytes += weightBytes
            t.calls += 1
            stages[stage] = t
        }
    }

    /// Steps in which every sequence computed one token, and steps with prompt tokens.
    public var decode = Steps()
    public var prefill = Steps()

    public init() {}

    /// Monotonic seconds (one `clock_gettime`, tens of nanoseconds).
    @inline(__always)
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
