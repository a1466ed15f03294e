import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's resident memory, read from Linux's `/proc/self` files.
///
/// The peak (`VmHWM`) only ever grows within a process, so one peak for a whole run of many
/// configurations says nothing about each. Linux lets a process reset its own high-water mark
/// (`echo 5 > /proc/self/clear_refs`), which gives a true peak per configuration; where that is
/// refused, callers fall back to the largest resident size they sampled.
public enum ProcessMemory {
    /// Bytes resident now (`/proc/self/statm`, second field), nil off Linux.
    public static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The high-water mark of resident memory since the start or the last ``resetPeak()``
    /// (`VmHWM`); off Linux, the process's lifetime peak from `getrusage`.
    public static func peakResidentBytes() -> Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        {
            return kib * 1024
        }
        return lifetimePeakBytes()
    }

    /// Resets the high-water mark to the current resident size; false when the system refuses.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    /// Returns the allocator's free memory to the operating system (glibc's `malloc_trim`, found
    /// at run time: its header is not part of the Glibc module), so that buffers freed by an
    /// earlier configuration do not count as this one's resident memory.
    public static func releaseFreeMemory() {
        #if canImport(Glibc)
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: Trim.self)(0) }  // nil: RTLD_DEFAULT
        #endif
    }

    /// The peak resident memory over the whole process lifetime (`getrusage`), which resets do
    /// not touch.
    public static func lifetimePeakBytes() -> Int {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024  // kibibytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return usage.ru_maxrss  // bytes on Darwin
        #endif
    }
}
