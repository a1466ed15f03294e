/// How one experiment ended: its result, or the error that stopped it (then the report says so
/// and the other experiments' results stand).
public struct ExperimentOutcome<Result: ExperimentResult>: Codable, Sendable {
    public var result: Result?
    public var error: String?
    /// Wall time the experiment took.
    public var seconds: Double

    public init(result: Result? = nil, error: String? = nil, seconds: Double) {
        self.result = result
        self.error = error
        self.seconds = seconds
    }
}
