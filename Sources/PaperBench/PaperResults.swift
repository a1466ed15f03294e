import Foundation

/// Everything one run of the bench measured: `results.json`. The report is written from this
/// value alone, so a report can always be rebuilt from the JSON.
///
/// Each experiment's entry is its outcome: `{"result": {...}, "seconds": …}` or
/// `{"error": "…", "seconds": …}`; an experiment not run (yet) has no entry.
public struct PaperResults: Sendable, Codable {
    /// The command line that produced the run.
    public var command: String
    public var model: ModelFacts
    public var machine: MachineInfo
    /// The text the prompts and perplexity read, and its token count.
    public var textName: String
    public var textTokens: Int
    public var plan: PaperPlan
    /// ISO 8601, UTC.
    public var startedAt: String
    public var finishedAt: String?
    public var totalSeconds: Double?
    /// CPU seconds the whole run used (all threads): on an idle machine with N cores, the run
    /// takes at least this divided by N.
    public var totalCPUSeconds: Double?

    public var latency: ExperimentOutcome<LatencyResult>?
    public var memory: ExperimentOutcome<MemoryResult>?
    public var mixedBatch: ExperimentOutcome<MixedBatchResult>?
    public var growingChat: ExperimentOutcome<GrowingChatResult>?
    public var pageSizes: ExperimentOutcome<PageSizeResult>?
    public var longGeneration: ExperimentOutcome<LongGenerationResult>?
    public var perplexity: ExperimentOutcome<PerplexityResults>?

    /// The keys of the experiments that ended with an error.
    public var failedExperiments: [String] {
        let errors: [(String, String?)] = [
            (LatencyExperiment.key, latency?.error), (MemoryExperiment.key, memory?.error), (MixedBatchExperiment.key, mixedBatch?.error),
            (GrowingChatExperiment.key, growingChat?.error), (PageSizeExperiment.key, pageSizes?.error),
            (LongGenerationExperiment.key, longGeneration?.error), (PerplexityExperiment.key, perplexity?.error),
        ]
        return errors.compactMap { $0.1 == nil ? nil : $0.0 }
    }

    /// The encoder for `results.json`: sorted keys, and measurements that did not happen (nan)
    /// written as the string "nan" rather than failing the whole file.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// The decoder that reads what ``encoder`` wrote.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
