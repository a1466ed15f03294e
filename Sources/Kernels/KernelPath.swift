import CKernels
import Foundation

/// The CPU code path the kernels take, chosen once per process and read in this one place.
///
/// By default the fastest path the CPU has. `PAGEDFLEX_KERNELS=portable|avx2` forces one (the
/// tests run the kernel suites once per path the machine has); a forced path the CPU lacks, or
/// an unknown name, falls back to the default and says so in ``environmentProblem``. Every
/// kernel with a CPU-specific variant (C or Swift) asks ``active``, never the CPU itself.
public enum KernelPath: String, Sendable, CaseIterable, Comparable {
    /// Swift SIMD code that any x86-64 or arm64 CPU runs.
    case portable
    /// The C kernels of `CKernels` with AVX2, FMA and F16C.
    case avx2

    /// The environment variable that forces a path.
    public static let environmentVariable = "PAGEDFLEX_KERNELS"

    /// Whether this CPU can run the path.
    public var isAvailable: Bool {
        switch self {
        case .portable: true
        case .avx2: pf_cpu_has_avx2_fma() == 1
        }
    }

    /// The paths this CPU can run, slowest first.
    public static var available: [KernelPath] { allCases.filter(\.isAvailable) }

    /// The path every kernel takes in this process.
    public static let active: KernelPath = choose(ProcessInfo.processInfo.environment[environmentVariable]).path

    /// Why `PAGEDFLEX_KERNELS` was not honoured, if it was set and could not be.
    public static let environmentProblem: String? = choose(ProcessInfo.processInfo.environment[environmentVariable]).problem

    /// The path for a requested name (nil: the fastest available), and why the request was not
    /// honoured, if it was not.
    static func choose(_ requested: String?) -> (path: KernelPath, problem: String?) {
        let best = available.max()!
        guard let requested, !requested.isEmpty else { return (best, nil) }
        guard let path = KernelPath(rawValue: requested.lowercased()) else {
            let names = allCases.map(\.rawValue).joined(separator: ", ")
            return (best, "\(environmentVariable)=\(requested) is not a kernel path (\(names)); using \(best.rawValue)")
        }
        guard path.isAvailable else {
            return (best, "\(environmentVariable)=\(requested): this CPU cannot run that path; using \(best.rawValue)")
        }
        return (path, nil)
    }

    public static func < (a: KernelPath, b: KernelPath) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
