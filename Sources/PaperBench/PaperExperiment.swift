/// One experiment of the paper's evaluation (sections III-D and IV): its parameters are the
/// conforming value, ``run(in:)`` measures, and the result tells the report what it found.
public protocol PaperExperiment: Sendable {
    associatedtype Result: ExperimentResult
    /// The experiment's key in `results.json` and the stem of its CSV and SVG files.
    static var key: String { get }
    /// The report's section title.
    static var title: String { get }
    /// What is measured and how, in a sentence or two (printed above the results).
    var method: String { get }
    func run(in context: BenchContext) async throws -> Result
}

/// What an experiment's result gives the report.
public protocol ExperimentResult: Codable, Sendable {
    /// One row per measurement: written as the experiment's CSV and shown as its table.
    var table: DataTable { get }
    /// The experiment's figure.
    var figure: ChartFigure { get }
    /// Markdown after the table: what the numbers say. `results` is the whole run, for notes
    /// that set this result beside another experiment's.
    func notes(in results: PaperResults) -> String
}
