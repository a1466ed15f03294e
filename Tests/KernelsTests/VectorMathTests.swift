import Foundation
import Kernels
import Testing

@Suite struct VectorMathTests {
    @Test("exp is within 2 ulp of libm, exact at 0, and 0 for -inf and very negative inputs")
    func exponential() {
        var worst: Float = 0
        var x: Float = -87
        while x < 87.9 {  // every lane below the clamp at 88
            let lanes = SIMD8<Float>(x, x + 0.013, x + 0.029, x + 0.031, x + 0.047, x + 0.053, x + 0.061, x + 0.073)
            let result = VectorMath.exp(lanes)
            for lane in 0..<8 {
                let exact = Foundation.exp(Double(lanes[lane]))
                worst = max(worst, Float(abs(Double(result[lane]) - exact) / Double(Float(exact).ulp)))
            }
            x += 0.0917
        }
        #expect(worst <= 2, "worst error \(worst) ulp")
        let special = VectorMath.exp(SIMD8(0, -.infinity, -88, -1000, 1, -1, 88, 2))
        #expect(special[0] == 1 && special[1] == 0 && special[2] == 0 && special[3] == 0)
        #expect(special[4] == Float(M_E).nextDown || special[4] == Float(M_E) || special[4] == Float(M_E).nextUp)
    }

    @Test("reductions run in the documented tree order")
    func reductions() {
        // Values whose sum depends on the order: 2^24 + 1 - 2^24 ...
        let x = SIMD8<Float>(16_777_216, 1, 1, 1, -16_777_216, 1, 1, 1)
        // ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)) = (0 + 2) + (2 + 2) = 6
        #expect(VectorMath.sumLanes(x) == 6)
        let rows = (0..<8).map { i in SIMD8<Float>((0..<8).map { Float($0 * 3 + i) - 7.5 }) }
        let sums = VectorMath.transposedSums(rows[0], rows[1], rows[2], rows[3], rows[4], rows[5], rows[6], rows[7])
        for i in 0..<8 { #expect(sums[i].bitPattern == VectorMath.sumLanes(rows[i]).bitPattern) }
        #expect(VectorMath.sumLanes(sums) == VectorMath.sumLanes(rows.reduce(SIMD8(), +)))
        #expect(VectorMath.maximumLane(SIMD8(-.infinity, -3, 7, 2, 7.5, -1, 0, 1)) == 7.5)
        #expect(VectorMath.maximum(SIMD8(repeating: 1), SIMD8(0, 2, 0, 2, 0, 2, 0, 2)) == SIMD8(1, 2, 1, 2, 1, 2, 1, 2))
    }

    @Test("the gated activations are within a few ulp of their float64 definitions (exp's argument rounded to float), tails and extremes included")
    func gatedActivations() {
        // 8·k + 5 values: the last partial vector goes through the padded path.
        let count = 8 * 260 + 5
        let gate = (0..<count).map { i in Float(i - count / 2) * 0.0093 } + [0, -0, 60, -60, 1e20, -1e20]
        let up = gate.indices.map { i in Float(1 + (i % 7)) * (i % 2 == 0 ? 1 : -0.5) }
        func check(_ name: String, _ exact: (Double) -> Double, _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void) {
            var out = gate
            out.withUnsafeMutableBufferPointer { o in up.withUnsafeBufferPointer { u in kernel(o.baseAddress!, u.baseAddress!, o.count) } }
            var worst = 0.0
            for i in gate.indices {
                let g = Double(gate[i])
                let want = exact(g) * Double(up[i])
                #expect(!out[i].isNaN, "\(name)(\(gate[i])) is NaN")
                guard want.isFinite else { #expect(out[i] == Float(want), "\(name)(\(gate[i]))"); continue }
                // Relative to the value; where it underflows towards 0 (the exponential is
                // clamped at e^88) an absolute error below 1e-15 counts as none.
                let error = abs(Double(out[i]) - want)
                worst = max(worst, error <= 1e-15 ? 0 : error / abs(want) * 0x1p23)
            }
            // exp's argument is rounded to float first: relative error |arg|·2⁻²⁴ on top of exp's
            // 2 ulp, about 16 ulp where GELU's argument reaches 30.
            #expect(worst <= 24, "\(name): worst error \(worst) ulp")
        }
        // GELU's tanh form 0.5·g·(1 + tanh u) loses digits in 1 + tanh u for negative g even in
        // float64, so the reference is its equal g / (1 + e^−2u), checked against the tanh form
        // where that one is accurate.
        func gelu(_ g: Double) -> Double { g / (1 + Foundation.exp(-2 * 0.7978845608028654 * (g + 0.044715 * g * g * g))) }
        for g in stride(from: -3.0, through: 3.0, by: 0.25) {
            let tanhForm = 0.5 * g * (1 + Foundation.tanh(0.7978845608028654 * (g + 0.044715 * g * g * g)))
            #expect(abs(gelu(g) - tanhForm) <= 1e-12 * max(1, abs(g)), "gelu(\(g))")
        }
        check("gelu", gelu) { Elementwise.geluTanhMultiply(gate: $0, up: $1, count: $2) }
        check("silu", { g in g / (1 + Foundation.exp(-g)) }) { Elementwise.siluMultiply(gate: $0, up: $1, count: $2) }
    }
}
