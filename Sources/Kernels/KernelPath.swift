import CKernels
import Foundation

/// The CPU code path the kernels take, chosen once per process and read in this one place.
///
/// By default the fastest path the CPU has. `PAGEDFLEX_KERNELS=portable|avx2|avxvnni|avx512vnni`
/// forces one (the
/// tests run the kernel suites once per path the machine has); a forced path the CPU lacks, or
/// an unknown name, falls back to the default and says so in ``environmentProblem``. Every
/// kernel with a CPU-specific variant (C or Swift) asks ``active``, never the CPU itself.
public enum KernelPath: String, Sendable, CaseIterable, Comparable {
    /// Swift SIMD code that any x86-64 or arm64 CPU runs.
    case portable
    /// The C kernels of `CKernels` with AVX2, FMA and F16C.
    case avx2
    /// As `avx2`, with the 8-bit kernels' dot products in AVX-VNNI's `vpdpbusd` (VEX-encoded; no
    /// AVX-512 state).
    case avxvnni
    /// As `avx2`, with the 8-bit kernels' dot products in AVX-512 VNNI's `vpdpbusd` (AVX-512
    /// F/BW/VL), and the interleaved kernels' tiles of four tokens 16 rows wide in zmm registers
    /// (each activation broadcast once for 16 rows). Preferred where both VNNI forms exist:
    /// SmolLM2's 512-token q8 prefill 1,388 → 1,913 tok/s on Zen 5 against `avxvnni`.
    case avx512vnni

    /// The environment variable that forces a path.
    public static let environmentVariable = "PAGEDFLEX_KERNELS"

    /// Whether this CPU can run the path. Probed once per process: the AVX-VNNI probe executes
    /// `cpuid`, which a virtual machine traps (tens of microseconds; it was asked before every
    /// single-matrix 8-bit product, twice a layer).
    public var isAvailable: Bool { Self.availablePaths.contains(self) }

    private static let availablePaths = Set(allCases.filter(\.probe))

    /// What the CPU says about the path (no caching).
    private var probe: Bool {
        switch self {
        case .portable: true
        case .avx2: pf_cpu_has_avx2_fma() == 1
        case .avx512vnni: pf_cpu_has_avx512vnni() == 1
        case .avxvnni: pf_cpu_has_avxvnni() == 1
        }
    }

    /// Whether the path runs the AVX2/FMA/F16C C kernels (every path but the portable one).
    public var usesCKernels: Bool { self != .portable }

    /// The instruction set of the 8-bit kernel on this path (`PF_ISA_*`), nil on the portable one.
    var q8InstructionSet: Int32? {
        switch self {
        case .portable: nil
        case .avx2: Int32(PF_ISA_AVX2)
        case .avx512vnni: Int32(PF_ISA_AVX512VNNI)
        case .avxvnni: Int32(PF_ISA_AVXVNNI)
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
