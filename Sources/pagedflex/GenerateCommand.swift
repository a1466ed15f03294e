import ArgumentParser
import Engine
import Foundation
import Sampling

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from one or more prompts (several run concurrently).",
        discussion: "Streams the text of a single prompt as it is produced; with several prompts, prints each completion when it ends. Ends with a stats line (and, for several prompts, the engine's usage snapshot) on standard error.")

    @OptionGroup var engine: EngineOptions

    @Option(help: "A prompt (repeat for several).")
    var prompt: [String] = []

    @Option(help: "A file of prompts: one per line, or JSONL with a \"prompt\" field per line.")
    var promptsFile: String?

    @Option(help: "Tokens to generate at most per sample.")
    var maxTokens: Int = 128

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 40

    @Option(help: "Keep the smallest set of tokens whose probability reaches p (1 = off).")
    var topP: Float = 0.95

    @Option(help: "Drop tokens less likely than min-p times the top token (0 = off).")
    var minP: Float = 0.05

    @Option(help: "Seed of the sampler (default: random).")
    var seed: UInt64?

    @Option(name: [.customShort("n"), .customLong("samples")], help: "Samples per prompt (forks share the prompt's pages).")
    var sampleCount: Int = 1

    @Option(help: "Stop when the output contains this text (repeatable).")
    var stop: [String] = []

    @Flag(help: "Wrap each prompt in the model's chat template and stop at the end of the turn.")
    var chat = false

    @Flag(help: "Keep generating past end-of-sequence tokens (for benchmarks).")
    var ignoreEos = false

    func validate() throws {
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
        guard sampleCount >= 1 && sampleCount <= Self.maxSampleCount else {
            throw ValidationError("-n must be in 1...\(Self.maxSampleCount), got \(sampleCount)")
        }
        do { try sampling.validate() } catch { throw ValidationError(error.description) }
    }

    /// Samples per prompt at most (each holds a sampler and a text buffer).
    static let maxSampleCount = 1024

    var sampling: SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP, seed: seed)
    }

    func run() async throws {
        var prompts = prompt
        if let promptsFile { prompts += try Self.readPrompts(promptsFile) }
        if prompts.isEmpty { throw ValidationError("give a prompt: --prompt TEXT or --prompts-file FILE") }
        let engine = try self.engine.makeEngine()
        defer { engine.shutdown() }
        let bundle = engine.bundle
        let requests = prompts.map { text in
            GenerationRequest(
                promptTokens: bundle.encode(prompt: text, chat: chat), sampling: sampling,
                stop: StopConditions(maxTokens: maxTokens, stopTokens: ignoreEos ? [] : bundle.stopTokens, stopStrings: stop),
                sampleCount: sampleCount)
        }
        if requests.count == 1 && sampleCount == 1 {
            try await streamOne(engine, requests[0])
        } else {
            try await runConcurrently(engine, prompts: prompts, requests: requests)
        }
    }

    private func streamOne(_ engine: Engine, _ request: GenerationRequest) async throws {
        var stats: GenerationStats?
        do {
            for try await event in engine.submit(request) {
                if !event.text.isEmpty {
                    FileHandle.standardOutput.write(Data(event.text.utf8))
                }
                if let s = event.stats { stats = s }
            }
        } catch {
            throw CLIError("\(error)")
        }
        FileHandle.standardOutput.write(Data("\n".utf8))
        if let stats { printError(Self.statsLine(stats)) }
    }

    private func runConcurrently(_ engine: Engine, prompts: [String], requests: [GenerationRequest]) async throws {
        let started = Date()
        let results = try await withThrowingTaskGroup(of: (Int, [String], [GenerationStats]).self) { group in
            for (i, request) in requests.enumerated() {
                group.addTask {
                    var texts = [String](repeating: "", count: request.sampleCount)
                    var stats: [GenerationStats] = []
                    do {
                        for try await event in engine.submit(request) {
                            texts[event.sample] += event.text
                            if let s = event.stats { stats.append(s) }
                        }
                    } catch {
                        throw CLIError("prompt \(i + 1): \(error)")
                    }
                    return (i, texts, stats)
                }
            }
            var all: [(Int, [String], [GenerationStats])] = []
            for try await r in group { all.append(r) }
            return all.sorted { $0.0 < $1.0 }
        }
        var generated = 0
        for (i, texts, stats) in results {
            for (j, text) in texts.enumerated() {
                let label = texts.count > 1 ? "[\(i + 1).\(j + 1)]" : "[\(i + 1)]"
                print("\(label) \(prompts[i].replacingOccurrences(of: "\n", with: " ").prefix(60))")
                print(text)
                print()
            }
            generated += stats.reduce(0) { $0 + $1.generatedTokenCount }
            for s in stats { printError("\(i + 1): " + Self.statsLine(s)) }
        }
        let elapsed = Date().timeIntervalSince(started)
        printError("all: \(results.count) prompts, \(generated) tokens in \(String(format: "%.2f", elapsed)) s (\(String(format: "%.1f", Double(generated) / elapsed)) tok/s), peak memory \(formatBytes(peakMemoryBytes()))")
        printError("usage: \(engine.usage())")
    }

    static func statsLine(_ s: GenerationStats) -> String {
        String(
            format: "[stats] prompt tokens %d (%d cached), generated tokens %d, TTFT %.1f ms, prefill %.1f tok/s, decode %.1f tok/s, peak memory %@",
            s.promptTokenCount, s.cachedPromptTokenCount, s.generatedTokenCount, s.timeToFirstToken * 1000,
            s.prefillTokensPerSecond, s.decodeTokensPerSecond, formatBytes(peakMemoryBytes()))
    }

    /// Prompts from a file: JSONL (`{"prompt": ...}` per line) or plain lines.
    static func readPrompts(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CLIError("cannot read prompts file '\(path)'")
        }
        var prompts: [String] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            if trimmed.hasPrefix("{") {
                struct Line: Decodable { let prompt: String }
                do {
                    prompts.append(try JSONDecoder().decode(Line.self, from: Data(trimmed.utf8)).prompt)
                } catch {
                    throw CLIError("\(path):\(n + 1): not a JSON object with a string \"prompt\" field (\(error.localizedDescription))")
                }
            } else {
                prompts.append(String(line))
            }
        }
        return prompts
    }
}
