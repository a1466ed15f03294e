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
    /// The engine's latest published usage and the resident memory, now. The KV figures are the
    /// engine's high-water mark (each run has an engine of its own), so a run shorter than the
    /// reader's reaction time is still seen at its fullest.
    init(_ engine: Engine, since start: Double) {
        let u = engine.usage()
        self.init(
            time: monotonicSeconds() - start, kvBytesInUse: u.peakKVBytesInUse, kvMinimumBytes: u.peakKVMinimumBytes,
            runningSequences: u.runningSequences, waitingSequences: u.waitingSequences,
            residentBytes: ProcessMemory.residentBytes() ?? 0)
    }
}
