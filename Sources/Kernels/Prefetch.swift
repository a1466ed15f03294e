import CKernels

/// Cache hints, for code that knows what it will read before it reads it (the paged KV store's
/// decode keys and values).
public enum Prefetch {
    /// Asks for `bytes` bytes from `p` to be brought into the caches, one 64-byte line at a time
    /// (a hint: it reads nothing and faults on nothing, whatever the address).
    public static func range(_ p: UnsafeRawPointer, bytes: Int) { pf_prefetch_range(p, bytes) }

    /// Whether a long burst of ``range(_:bytes:)`` stalls the thread that issues it: on Intel
    /// cores each prefetch that misses holds one of the core's few line-fill buffers until its
    /// line arrives, so hundreds of KiB asked at once keep the issuing thread waiting on memory
    /// as if it had read them (probed once).
    public static let burstStallsIssuer = pf_cpu_is_intel() == 1
}
