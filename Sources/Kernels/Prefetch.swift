import CKernels

/// Cache hints, for code that knows what it will read before it reads it (the paged KV store's
/// decode keys and values).
public enum Prefetch {
    /// Asks for `bytes` bytes from `p` to be brought into the caches, one 64-byte line at a time
    /// (a hint: it reads nothing and faults on nothing, whatever the address).
    public static func range(_ p: UnsafeRawPointer, bytes: Int) { pf_prefetch_range(p, bytes) }
}
