import ArgumentParser
import Engine
import Foundation
import Llama
import Locking
import Sampling

/// Continuous batching on the real model: many concurrent prompts of random lengths against one
/// sequence alone, and the paged cache's waste against the contiguous baseline's.
struct BenchBatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Aggregate decode throughput of N concurrent sequences vs one, KV waste and fit, paged vs contiguous.")

    @OptionGroup var engine: EngineOptions

    @Option(help: "Concurrent requests.")
    var sequences: Int = 16

    @Option(help: "Prompt lengths are uniform in this range (min,max).")
    var promptRange: String = "128,1024"

    @Option(help: "Tokens generated per request.")
    var generate: Int = 64

    @Option(help: "The fixed KV budget (tokens) for the how-many-fit comparison.")
    var fitBudget: Int = 32768

    @Option(help: "Seed of the prompt lengths.")
    var seed: UInt64 = 2025

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Flag(help: "Also time the decode steps of the two batch runs stage by stage (matrix products, attention, the rest; ms per step).")
    var profile = false

    @Option(help: "Also measure this engine's batched decode of as many sequences, in the same run (known: llamacpp; prompts of the range's mean length).")
    var peer: String?

    struct Run: Codable {
        var kvMode: KVMode
        var sequences: Int
        var aggregateDecodeTokensPerSecond: Double
        var generatedTokens: Int
        var seconds: Double
        var kvBytesInUse: Int
        var kvMinimumBytes: Int
        var kvWastePercent: Double
        var maxRunning: Int
        /// The stage times of the steps in which every running sequence decoded (--profile).
        var decodeProfile: ForwardProfile.Steps?
    }

    struct Figures: Codable {
        var promptLengths: [Int]
        var single: Run
        var pagedBatch: Run
        var contiguousBatch: Run
        var batchOverSingle: Double
        var fitBudgetTokens: Int
        var pagedFit: Int
        var contiguousFit: Int
        var threads: Int
        /// llama.cpp's aggregate decode of as many sequences (median of 3), and ours ÷ it.
        var peerAggregateDecodeTokensPerSecond: Double?
        var pagedOverPeer: Double?
    }

    func run() async throws {
        let bounds = promptRange.split(separator: ",").compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] >= 1, bounds[0] <= bounds[1] else { throw ValidationError("--prompt-range MIN,MAX") }
        if let peer, peer != "llamacpp" { throw ValidationError("unknown peer '\(peer)' (known: llamacpp)") }
        var rng = Xoshiro256(seed: seed)
        let lengths = (0..<sequences).map { _ in Int.random(in: bounds[0]...bounds[1], using: &rng) }
        var options = engine
        options.noPrefixCache = true
        let bundle: ModelBundle
        do { bundle = try ModelBundle(path: options.modelPath) } catch { throw CLIError(error.description) }
        let corpus = try benchCorpus(bundle)
        let prompts = lengths.enumerated().map { i, n in Array(corpus[(i * 97)..<(i * 97 + n)]) }

        func runOnce(_ mode: KVMode, _ prompts: [[Int32]], memoryTokens: Int) async throws -> Run {
            var o = options
            o.kv = mode
            o.kvMemory = "\(memoryTokens)tokens"
            var config = o.configuration
            config.maxRunningSequences = max(prompts.count, 1)
            config.profileForward = profile
            let engine: Engine
            do { engine = try Engine(bundle: bundle, configuration: config) } catch { throw CLIError(error.description) }
            defer { engine.shutdown() }
            printError("\(mode): \(prompts.count) sequence(s)")
            return try await measure(engine, prompts, mode: mode)
        }
        let total = lengths.reduce(0, +) + sequences * generate
        let single = try await runOnce(options.kv == .contiguous ? .paged : options.kv, [prompts[0]], memoryTokens: 16384)
        let paged = try await runOnce(.paged, prompts, memoryTokens: total + sequences * 32)
        let context = bundle.model.configuration.contextLength
        let contiguous = try await runOnce(.contiguous, prompts, memoryTokens: sequences * context)
        let pagedFit = Self.pagedFit(lengths.map { $0 + generate }, tokensPerPage: options.pageSize, budget: fitBudget)
        let contiguousFit = fitBudget / context
        var figures = Figures(
            promptLengths: lengths, single: single, pagedBatch: paged, contiguousBatch: contiguous,
            batchOverSingle: paged.aggregateDecodeTokensPerSecond / single.aggregateDecodeTokensPerSecond,
            fitBudgetTokens: fitBudget, pagedFit: pagedFit, contiguousFit: contiguousFit, threads: ThreadCount.current)
        let peerPrompt = (bounds[0] + bounds[1]) / 2
        if peer != nil {
            printError("llama.cpp: \(sequences) sequences of \(peerPrompt) prompt tokens, \(generate) generated each")
            let r = try Peers.runLlamaCpp(model: options.modelPath, arguments: [
                "--threads", String(ThreadCount.current), "--reps", "3", "--skip", "pp,tg,ttft,ppl,ref,kv",
                "--parallel", String(sequences), "--batched-prompt", String(peerPrompt), "--batched-gen", String(generate),
            ])
            if let v = Peers.median(r, "batched", "aggregate_tok_per_s") {
                figures.peerAggregateDecodeTokensPerSecond = v
                figures.pagedOverPeer = paged.aggregateDecodeTokensPerSecond / v
            }
        }
        print("bench batch: \(sequences) requests, prompts uniform in \(bounds[0])...\(bounds[1]) (seed \(seed)), \(generate) tokens each, \(ThreadCount.current) threads")
        print(Table(
            header: ["run", "decode tok/s", "KV in use", "minimum", "waste %", "max running"],
            rows: [single, paged, contiguous].map { r in
                ["\(r.kvMode) × \(r.sequences)", fmt(r.aggregateDecodeTokensPerSecond), formatBytes(r.kvBytesInUse),
                 formatBytes(r.kvMinimumBytes), fmt(r.kvWastePercent, 2), String(r.maxRunning)]
            }).render())
        print(String(format: "aggregate decode with %d running / one alone: %.2fx", sequences, figures.batchOverSingle))
        print("in a \(fitBudget)-token KV budget: paged fits \(pagedFit) of these sequences at full length, contiguous \(contiguousFit)")
        if let v = figures.peerAggregateDecodeTokensPerSecond, let ratio = figures.pagedOverPeer {
            print(String(format: "llama.cpp, %d sequences of %d prompt tokens decoding together: %.1f tok/s; paged ÷ llama.cpp %.2fx", sequences, peerPrompt, v, ratio))
        }
        if profile {
            for r in [paged, contiguous] {
                guard let p = r.decodeProfile else { continue }
                let perStep = Double(p.tokens) / Double(max(p.steps, 1))
                print("\nprofile: \(r.kvMode) × \(r.sequences), \(p.steps) decode steps of \(fmt(perStep)) tokens on average")
                print(profileTable(p, per: p.steps, unit: "step"))
            }
        }
        if let json { try writeJSON(figures, to: json) }
    }

    /// Sequences (in order) whose pages fit in `budget` tokens of 16-token pages.
    static func pagedFit(_ lengths: [Int], tokensPerPage: Int, budget: Int) -> Int {
        var pages = budget / tokensPerPage
        var n = 0
        for length in lengths.cycled(times: 64) {
            let need = (length + tokensPerPage - 1) / tokensPerPage
            if need > pages { break }
            pages -= need
            n += 1
        }
        return n
    }

    /// Runs every prompt at once and measures the decode window in which all of them run.
    private func measure(_ engine: Engine, _ prompts: [[Int32]], mode: KVMode) async throws -> Run {
        let peak = Locked((bytes: 0, minimum: 0, waste: 0.0, running: 0))
        let sampler = Task {
            while !Task.isCancelled {
                let u = engine.usage()
                peak.withLock { p in
                    if u.kvBytesInUse > p.bytes { p = (u.kvBytesInUse, u.kvMinimumBytes, u.kvWastePercent, max(p.running, u.runningSequences)) }
                    p.running = max(p.running, u.runningSequences)
                }
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        let generate = self.generate
        let timelines = try await withThrowingTaskGroup(of: [Double].self) { group in
            for p in prompts {
                group.addTask {
                    var times: [Double] = []
                    let request = GenerationRequest(promptTokens: p, sampling: .greedy, stop: StopConditions(maxTokens: generate))
                    for try await event in engine.submit(request) where event.token != nil {
                        times.append(Date().timeIntervalSinceReferenceDate)
                    }
                    return times
                }
            }
            var all: [[Double]] = []
            for try await t in group { all.append(t) }
            return all
        }
        sampler.cancel()
        // The window where every sequence is decoding: after the last first token, before the
        // first last token.
        var start = timelines.map { $0.first! }.max()!
        var end = timelines.map { $0.last! }.min()!
        if end <= start {
            // The sequences never all ran at once (the budget queued some): measure the whole
            // decode period instead.
            start = timelines.map { $0.first! }.min()!
            end = timelines.map { $0.last! }.max()!
        }
        let inWindow = timelines.reduce(0) { $0 + $1.filter { $0 > start && $0 <= end }.count }
        let p = peak.withLock { $0 }
        // The usage (and the profile in it) is published after each step: wait for the one that
        // saw the last request finish.
        var usage = engine.usage()
        while profile && usage.runningSequences + usage.waitingSequences > 0 {
            try await Task.sleep(for: .milliseconds(1))
            usage = engine.usage()
        }
        return Run(
            kvMode: mode, sequences: prompts.count,
            aggregateDecodeTokensPerSecond: end > start ? Double(inWindow) / (end - start) : 0,
            generatedTokens: timelines.reduce(0) { $0 + $1.count }, seconds: end - start,
            kvBytesInUse: p.bytes, kvMinimumBytes: p.minimum, kvWastePercent: p.waste, maxRunning: p.running,
            decodeProfile: usage.forwardProfile?.decode)
    }
}

extension Array {
    /// The elements repeated `times` times.
    func cycled(times: Int) -> [Element] { Array(repeatElement(self, count: times).joined()) }
}
