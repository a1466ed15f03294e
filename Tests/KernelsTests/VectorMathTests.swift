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
}
