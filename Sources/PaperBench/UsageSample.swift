import Engine

/// One snapshot of an engine while it runs: its KV memory books and the process's resident
/// memory, `time` seconds after the measurement started.
public struct UsageSample: Sendable, Hashable, Codable {
    public var time: Double
    /// Bytes of the pages referenced by live sequences (a contiguous sequence holds a whole
    /// context-sized page).
    public var kvBytesInUse: Int
    /// Bytes the stored positions need at the least.
    public var kvMinimumBytes: Int
    public var runningSequences: Int
    public var waitingSequences: Int
    public var residentBytes: Int
}

extension UsageSample {
    /// The engine's latest published usage and the resident memory, now.
    init(_ engine: Engine, since start: Double) {
        let u = engine.usage()
        self.init(
            time: monotonicSeconds() - start, kvBytesInUse: u.kvBytesInUse, kvMinimumBytes: u.kvMinimumBytes,
            runningSequences: u.runningSequences, waitingSequences: u.waitingSequences,
            residentBytes: ProcessMemory.residentBytes() ?? 0)
    }
}
