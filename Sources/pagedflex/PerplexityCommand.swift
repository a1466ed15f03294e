import ArgumentParser
import Engine
import Foundation

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text over non-overlapping windows (tokens 1..window-1 of each predicted from their prefix).")

    @OptionGroup var engine: EngineOptions

    @Option(help: "The text file.")
    var file: String

    @Option(help: "Tokens per window.")
    var window: Int = 512

    @Option(help: "Windows to score at most (default: every whole window of the text).")
    var windows: Int?

    @Option(help: "Write the result as JSON to this file.")
    var json: String?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw CLIError("cannot read '\(file)' as UTF-8 text")
        }
        let bundle: ModelBundle
        do { bundle = try ModelBundle(path: engine.modelPath) } catch { throw CLIError(error.description) }
        let tokens = bundle.tokenizer.encode(text)
        let result: PerplexityResult
        do {
            result = try bundle.perplexity(
                of: tokens, window: window, windowCount: windows, configuration: engine.configuration
            ) { done, total in printError("window \(done)/\(total)") }
        } catch {
            throw CLIError(error.description)
        }
        print("file            \(file) (\(tokens.count) tokens)")
        print("kv              \(result.kvMode), \(result.tokensPerPage) tokens/page")
        print("windows         \(result.windowCount) × \(result.window) tokens, \(result.predictionCount) predictions")
        print("per-window NLL  " + result.perWindowMeanNLL.map { String(format: "%.6f", $0) }.joined(separator: " "))
        print(String(format: "mean NLL        %.10f", result.meanNLL))
        print(String(format: "perplexity      %.8f", result.perplexity))
        print(String(format: "time            %.2f s (%.1f tokens/s)", result.seconds, Double(result.windowCount * result.window) / result.seconds))
        if let json { try writeJSON(result, to: json) }
    }
}

/// Writes `value` as pretty-printed JSON.
func writeJSON(_ value: some Encodable, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
}
