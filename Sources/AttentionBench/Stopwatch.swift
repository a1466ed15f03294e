#if canImport(Glibc)
import FlexAttention
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock and process CPU timing for the benchmarks. On a shared machine the wall time of a
/// call includes the time the process waited for a core; its CPU time does not, so both are
/// reported (PyTorch's attention script does the same).
enum Stopwatch {
    /// Wall and process CPU seconds `body` took.
    struct Timing {
        var wall: Double
        var cpu: Double
    }

    static func measure(_ body: () -> Void) -> Timing {
        let clock = ContinuousClock()
        let cpuStart = processCPUSeconds()
        let elapsed = clock.measure(body)
        return Timing(wall: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
                      cpu: processCPUSeconds() - cpuStart)
    }

    /// Wall seconds `body` took.
    static func seconds(_ body: () -> Void) -> Double { measure(body).wall }

    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// The median of `values` (which it sorts).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
}
