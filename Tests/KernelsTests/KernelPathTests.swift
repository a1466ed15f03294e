import Foundation
import Kernels
@testable import Kernels
import Testing

/// The one switch that picks the kernels' CPU path: `PAGEDFLEX_KERNELS`. scripts/test runs the
/// kernel suites once per path this machine has, each forced by the variable; these tests prove
/// the forcing took effect and that a bad value falls back with a reason, never a trap.
struct KernelPathTests {
    @Test func theForcedPathIsTheActiveOne() throws {
        let requested = ProcessInfo.processInfo.environment[KernelPath.environmentVariable]
        let expected = try #require(requested.flatMap { KernelPath(rawValue: $0) } ?? KernelPath.available.max())
        #expect(KernelPath.active == expected)
        #expect(KernelPath.environmentProblem == nil)
        #expect(Matmul.usesAVX2 == expected.usesCKernels)
    }

    @Test func portableIsAlwaysAvailable() {
        #expect(KernelPath.portable.isAvailable)
        #expect(KernelPath.choose("portable").path == .portable)
        #expect(KernelPath.choose("PORTABLE").problem == nil)
    }

    @Test func unsetChoosesTheFastestAvailable() {
        #expect(KernelPath.choose(nil) == (KernelPath.available.max()!, nil))
        #expect(KernelPath.choose("").path == KernelPath.available.max()!)
    }

    @Test func anUnknownNameFallsBackAndSaysWhy() throws {
        let (path, problem) = KernelPath.choose("avx9000")
        #expect(path == KernelPath.available.max()!)
        let why = try #require(problem)
        #expect(why.contains("avx9000") && why.contains("portable"))
    }

    @Test func anUnavailablePathFallsBack() {
        for path in KernelPath.allCases where !path.isAvailable {
            let (chosen, problem) = KernelPath.choose(path.rawValue)
            #expect(chosen.isAvailable)
            #expect(problem != nil)
        }
    }
}
