/// A broken internal invariant found by `_checkInvariants()`: a bug in the cache or in how it
/// was called, never an ordinary result.
public struct KVCacheInvariantViolation: Error, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "KV cache invariant violated: \(message)" }

    /// Throws a violation with `message` unless `condition` holds.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(KVCacheInvariantViolation) {
        if !condition { throw KVCacheInvariantViolation(message()) }
    }
}
