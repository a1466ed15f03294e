/// Where a long run says how far it got: each message is prefixed with the time since the bench
/// started, and handed to a sink (the CLI prints to standard error). Sendable, so the tasks that
/// follow request streams can report too.
public struct ProgressLog: Sendable {
    private let started = monotonicSeconds()
    private let sink: @Sendable (String) -> Void

    public init(_ sink: @escaping @Sendable (String) -> Void) {
        self.sink = sink
    }

    public func callAsFunction(_ message: String) {
        let elapsed = Int(monotonicSeconds() - started)
        let minutes = elapsed / 60, seconds = elapsed % 60
        sink("[\(minutes < 10 ? "0" : "")\(minutes):\(seconds < 10 ? "0" : "")\(seconds)] " + message)
    }
}
