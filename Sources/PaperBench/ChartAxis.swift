import Foundation

/// One axis of a ``LineChart``: what it measures (the label carries the unit) and how values map
/// onto it.
///
/// Sequence lengths and page sizes double from one point to the next, so they read best on a
/// base-2 axis; latencies that grow by orders of magnitude (no KV cache against a cache) need a
/// base-10 axis, or the cached lines sit flat on zero.
public struct ChartAxis: Sendable, Hashable, Codable {
    public enum Scale: String, Sendable, Hashable, Codable {
        case linear
        /// Ticks at powers of two.
        case log2
        /// Ticks at powers of ten (and 2× and 5× them when the data spans less than two decades).
        case log10
    }

    /// The axis title, with its unit: `"prompt tokens"`, `"TTFT (s)"`.
    public var label: String
    public var scale: Scale
    /// For a linear scale: stretch the range to include zero, so bar-like comparisons are honest.
    public var includesZero: Bool

    public init(_ label: String, scale: Scale = .linear, includesZero: Bool = true) {
        self.label = label
        self.scale = scale
        self.includesZero = includesZero
    }

    /// Whether `value` can be drawn on this axis (log scales drop zero and negatives).
    func accepts(_ value: Double) -> Bool {
        value.isFinite && (scale == .linear || value > 0)
    }

    /// The value in the axis's drawing space (log scales draw the logarithm).
    func transform(_ value: Double) -> Double {
        switch scale {
        case .linear: value
        case .log2: Foundation.log2(value)
        case .log10: Foundation.log10(value)
        }
    }

    /// The drawn range (in drawing space) and the ticks (in data space) for data in `low...high`.
    func layout(low: Double, high: Double) -> (range: ClosedRange<Double>, ticks: [Double]) {
        switch scale {
        case .linear:
            var lo = includesZero ? min(low, 0) : low
            var hi = includesZero ? max(high, 0) : high
            if hi - lo < 1e-12 * max(1, abs(hi)) {
                lo -= max(1, abs(lo)) * 0.5
                hi += max(1, abs(hi)) * 0.5
                if includesZero && low >= 0 { lo = max(lo, 0) }
            }
            let step = Self.niceStep((hi - lo) / 5)
            let first = (lo / step).rounded(.down) * step
            let last = (hi / step).rounded(.up) * step
            let ticks = stride(from: first, through: last + step / 2, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
            return (first...last, ticks)
        case .log2:
            let lo = Foundation.log2(low).rounded(.down), hi = max(Foundation.log2(high).rounded(.up), lo + 1)
            let every = max(1, Int(((hi - lo) / 8).rounded(.up)))
            let ticks = stride(from: lo, through: hi, by: Double(every)).map { Foundation.pow(2, $0) }
            return (lo...hi, ticks)
        case .log10:
            let lo = Foundation.log10(low).rounded(.down), hi = max(Foundation.log10(high).rounded(.up), lo + 1)
            var ticks: [Double] = []
            for decade in stride(from: lo, through: hi, by: 1) {
                let base = Foundation.pow(10, decade)
                ticks.append(base)
                if hi - lo <= 2 && decade < hi { ticks += [2 * base, 5 * base] }
            }
            return (lo...hi, ticks)
        }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = Foundation.pow(10, Foundation.log10(raw).rounded(.down))
        for multiple in [1.0, 2, 5, 10] where multiple * power >= raw * (1 - 1e-9) { return multiple * power }
        return 10 * power
    }

    /// A tick label: powers of two from 1024 up as `1k`, `2k`…, other numbers with at most three
    /// significant digits and no trailing zeros.
    static func tickLabel(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1024, value == value.rounded(), Int(magnitude) % 1024 == 0, Int(magnitude).nonzeroBitCount == 1 {
            return "\(Int(value) / 1024)k"
        }
        if magnitude >= 1_000_000 { return String(format: "%.3g", value) }
        if value == value.rounded() { return String(Int(value)) }
        var text = String(format: magnitude >= 1 ? "%.2f" : "%.3g", value)
        if text.contains("."), !text.contains("e") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}
