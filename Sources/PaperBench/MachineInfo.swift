import Foundation
import CKernels
import Kernels

/// The machine and build a run measured: what a reader needs to weigh the timings.
///
/// These machines are shared, so the load average at the start and the end is part of the
/// record: a run under load is slower, and says so.
public struct MachineInfo: Sendable, Hashable, Codable {
    public var cpuModel: String
    public var logicalCores: Int
    /// Threads the kernels run on (`PAGEDFLEX_THREADS`, else one per core).
    public var kernelThreads: Int
    public var memoryBytes: Int
    public var operatingSystem: String
    /// `release` or `debug` (`-c release` compiles with optimization and without `DEBUG`).
    public var buildConfiguration: String
    /// Whether the build targeted x86-64-v3 (AVX2, FMA, F16C) for the Swift SIMD code, which the
    /// project's build scripts pass as `-Xcc -march=x86-64-v3`.
    public var builtForX86_64_v3: Bool
    /// Whether the CPU has AVX2/FMA/F16C and the hand-written 8-bit kernels use them.
    public var avx2KernelsActive: Bool
    /// `/proc/loadavg`'s 1, 5 and 15-minute averages.
    public var loadAverageStart: [Double]
    public var loadAverageEnd: [Double]?

    /// The machine this process runs on, now.
    public static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        #if DEBUG
        let configuration = "debug"
        #else
        let configuration = "release"
        #endif
        return MachineInfo(
            cpuModel: model, logicalCores: ProcessInfo.processInfo.activeProcessorCount,
            kernelThreads: ThreadPool.shared.threadCount, memoryBytes: Int(ProcessInfo.processInfo.physicalMemory),
            operatingSystem: ProcessInfo.processInfo.operatingSystemVersionString,
            buildConfiguration: configuration, builtForX86_64_v3: PF_BUILT_FOR_X86_64_V3 == 1,
            avx2KernelsActive: Matmul.usesAVX2, loadAverageStart: loadAverage(), loadAverageEnd: nil)
    }

    /// The 1, 5 and 15-minute load averages (empty where `/proc/loadavg` is missing).
    public static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }
}
