import Engine
import Foundation

/// The paper's evaluation as one run: every experiment of ``PaperPlan`` on the real model, each
/// inside its own `do`/`catch`, writing as it goes:
///
/// ```
///  outputDirectory/
///    results.json      every outcome so far (rewritten after each experiment)
///    <key>.csv         one per experiment that finished: its table
///    <key>.svg         one per experiment that finished: its figure
///    REPORT.md         tables, figures, machine, and where the paper's claims hold or not
/// ```
///
/// An experiment that throws is recorded with its error and the report says so; the others
/// still run and keep their results. Only a model that cannot be loaded or an output directory
/// that cannot be written stop the run.
public struct PaperBench: Sendable {
    public var plan: PaperPlan
    public var modelPath: String
    /// The text prompts are cut from and perplexity is measured on, and how the report names it.
    public var text: String
    public var textName: String
    /// llama.cpp's results file (`../shared/peers/results/llamacpp.json`), if any.
    public var peerResults: URL?
    public var outputDirectory: URL
    /// The command line, for the record.
    public var command: String
    public var progress: ProgressLog

    public init(
        plan: PaperPlan, modelPath: String, text: String, textName: String, peerResults: URL?, outputDirectory: URL,
        command: String, progress: ProgressLog
    ) {
        self.plan = plan
        self.modelPath = modelPath
        self.text = text
        self.textName = textName
        self.peerResults = peerResults
        self.outputDirectory = outputDirectory
        self.command = command
        self.progress = progress
    }

    /// The experiments, in the order they run.
    public static let experimentKeys = [
        LatencyExperiment.key, MemoryExperiment.key, MixedBatchExperiment.key, GrowingChatExperiment.key,
        PageSizeExperiment.key, LongGenerationExperiment.key, PerplexityExperiment.key,
    ]

    /// Runs every experiment and returns what `results.json` holds.
    ///
    /// - Throws: ``EngineError`` when the model cannot be loaded; a file error when the outputs
    ///   cannot be written.
    public func run() async throws -> PaperResults {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let started = monotonicSeconds(), startedCPU = processCPUSeconds()
        let bundle = try ModelBundle(path: modelPath)
        let context = BenchContext(bundle: bundle, plan: plan, text: text, peerResults: peerResults, progress: progress)
        var results = PaperResults(
            command: command, model: ModelFacts(bundle: bundle, kvBytesPerToken: context.kvBytesPerToken),
            machine: MachineInfo.current(), textName: textName, textTokens: context.textTokens.count, plan: plan,
            startedAt: Self.timestamp())
        try write(results)
        progress("model \(results.model.file), \(results.machine.kernelThreads) threads, load average "
            + results.machine.loadAverageStart.map { fixed($0, 2) }.joined(separator: " "))
        try await warmUp(context)

        let count = Self.experimentKeys.count
        try await run(plan.latency, 1, of: count, into: \.latency, &results, context)
        try await run(MemoryExperiment(sweep: plan.latency), 2, of: count, into: \.memory, &results, context)
        try await run(plan.mixedBatch, 3, of: count, into: \.mixedBatch, &results, context)
        try await run(plan.growingChat, 4, of: count, into: \.growingChat, &results, context)
        try await run(plan.pageSizes, 5, of: count, into: \.pageSizes, &results, context)
        try await run(plan.longGeneration, 6, of: count, into: \.longGeneration, &results, context)
        try await run(plan.perplexity, 7, of: count, into: \.perplexity, &results, context)

        results.machine.loadAverageEnd = MachineInfo.loadAverage()
        results.finishedAt = Self.timestamp()
        results.totalSeconds = monotonicSeconds() - started
        results.totalCPUSeconds = processCPUSeconds() - startedCPU
        try write(results)
        progress("done in \(Int(results.totalSeconds ?? 0)) s: \(outputDirectory.appendingPathComponent("REPORT.md").path)")
        return results
    }

    /// Reads every weight once, so the first experiment does not pay for paging the model in.
    private func warmUp(_ context: BenchContext) async throws {
        let prompt = context.tokens(count: 32)
        _ = try await context.withEngine(context.configuration(.paged, budgetTokens: 1024)) { engine in
            try await MeasuredBatch.run([context.request(prompt, generate: 4)], on: engine)
        }
    }

    /// Runs one experiment, records its result or its error, and writes its files and the report.
    private func run<E: PaperExperiment>(
        _ experiment: E, _ index: Int, of count: Int, into path: WritableKeyPath<PaperResults, ExperimentOutcome<E.Result>?>,
        _ results: inout PaperResults, _ context: BenchContext
    ) async throws {
        guard plan.runs(E.key) else { return }
        progress("[\(index)/\(count)] \(E.title)")
        // A failed experiment must not leave an earlier run's files looking like its own.
        for ext in ["csv", "svg"] { try? FileManager.default.removeItem(at: outputDirectory.appendingPathComponent("\(E.key).\(ext)")) }
        let start = monotonicSeconds()
        let result: E.Result
        do {
            result = try await experiment.run(in: context)
        } catch {
            results[keyPath: path] = ExperimentOutcome(error: String(describing: error), seconds: monotonicSeconds() - start)
            progress("[\(index)/\(count)] \(E.title) FAILED: \(error)")
            try write(results)
            return
        }
        results[keyPath: path] = ExperimentOutcome(result: result, seconds: monotonicSeconds() - start)
        try Data(result.table.csv().utf8).write(to: outputDirectory.appendingPathComponent(E.key + ".csv"))
        try Data(result.figure.svg().utf8).write(to: outputDirectory.appendingPathComponent(E.key + ".svg"))
        progress("[\(index)/\(count)] \(E.title): done in \(Int(monotonicSeconds() - start)) s")
        try write(results)
    }

    /// Writes `REPORT.md` in `directory` again from the `results.json` there, measuring nothing
    /// (after the report's wording changed, say).
    public static func rewriteReport(in directory: URL) throws {
        let data = try Data(contentsOf: directory.appendingPathComponent("results.json"))
        let results = try PaperResults.decoder.decode(PaperResults.self, from: data)
        try Data(PaperReport.markdown(results).utf8).write(to: directory.appendingPathComponent("REPORT.md"))
    }

    /// Writes `results.json` and `REPORT.md` as they stand.
    private func write(_ results: PaperResults) throws {
        try PaperResults.encoder.encode(results).write(to: outputDirectory.appendingPathComponent("results.json"))
        try Data(PaperReport.markdown(results).utf8).write(to: outputDirectory.appendingPathComponent("REPORT.md"))
    }

    static func timestamp() -> String {
        ISO8601DateFormatter().string(from: Date())
    }
}
