import ArgumentParser
import AttentionBench
import Engine
import Foundation
import Kernels
import Llama
import Sampling

/// Prefill and decode speed on the real model, optionally beside llama.cpp in the same run.
struct BenchDecodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Prefill and single-sequence decode tokens per second (beside llama.cpp with --peer llamacpp).")

    @OptionGroup var engine: EngineOptions

    @Option(help: "Prompt lengths for prefill (comma-separated).")
    var promptLengths: String = "128,512"

    @Option(help: "Prompt length before decoding.")
    var decodePrompt: Int = 128

    @Option(help: "Tokens generated per decode run.")
    var generate: Int = 128

    @Option(help: "Repetitions (medians are reported).")
    var reps: Int = 3

    @Option(help: "Also measure a peer engine, alternating with ours: llamacpp.")
    var peer: String?

    @Option(help: "Write the figures as JSON to this file.")
    var json: String?

    @Flag(help: "Also time the forward pass stage by stage (one more decode and prefill run), the cost of an empty parallel loop, and the machine's read bandwidth.")
    var profile = false

    struct Figures: Codable {
        var prefillTokensPerSecond: [String: Double] = [:]
        var decodeTokensPerSecond: Double = 0
        var decodeMillisecondsPerToken: Double = 0
        var peer: String?
        var peerPrefillTokensPerSecond: [String: Double]?
        var peerDecodeTokensPerSecond: Double?
        var prefillRatio: [String: Double]?
        var decodeRatio: Double?
        var threads: Int
        var kvMode: KVMode
        var activations: ActivationPrecision
        var profile: Profile?
    }

    struct Profile: Codable {
        var decode: ForwardProfile.Steps
        var prefill: ForwardProfile.Steps
        var prefillTokens: Int
        /// Parallel loops per decoded token, and what one empty loop costs.
        var loopsPerDecodedToken: Double
        var emptyLoopMicroseconds: Double
        var readBandwidth: MemoryBandwidth
        /// The decode steps' weight bytes ÷ their matrix-product seconds, against the read bandwidth.
        var decodeWeightGBps: Double
        var decodeWeightStreamFraction: Double
    }

    func run() async throws {
        let lengths = promptLengths.split(separator: ",").compactMap { Int($0) }
        guard !lengths.isEmpty, reps >= 1 else { throw ValidationError("give prompt lengths and at least one rep") }
        if let peer, peer != "llamacpp" { throw ValidationError("unknown peer '\(peer)' (known: llamacpp)") }
        var options = engine
        options.noPrefixCache = true  // repeated prompts must be computed, not served from the cache
        let engine = try options.makeEngine { $0.profileForward = profile }
        defer { engine.shutdown() }
        let corpus = try benchCorpus(engine.bundle)

        var prefill: [Int: [Double]] = [:]
        var decode: [Double] = []
        var peerPrefill: [Int: [Double]] = [:]
        var peerDecode: [Double] = []
        // Warm up (page in the weights).
        _ = try await run(engine, Array(corpus.prefix(32)), generate: 4)
        for rep in 0..<reps {
            printError("rep \(rep + 1)/\(reps)")
            for n in lengths {
                let stats = try await run(engine, Array(corpus.prefix(n)), generate: 1)
                prefill[n, default: []].append(Double(n) / stats.timeToFirstToken)
            }
            let stats = try await run(engine, Array(corpus.prefix(decodePrompt)), generate: generate)
            decode.append(stats.decodeTokensPerSecond)
            if peer != nil {
                let r = try Peers.runLlamaCpp(model: options.modelPath, arguments: [
                    "--threads", String(ThreadCount.current), "--reps", "1", "--skip", "ttft,batched,ppl,ref,kv",
                    "--pp", lengths.map(String.init).joined(separator: ","), "--tg-prompts", String(decodePrompt),
                    "--tg-gen", String(generate),
                ])
                for n in lengths {
                    if let v = Peers.median(r, "prompt_processing", String(n), "tok_per_s") { peerPrefill[n, default: []].append(v) }
                }
                if let v = Peers.median(r, "decode", String(decodePrompt), "tok_per_s") { peerDecode.append(v) }
            }
        }
        var figures = Figures(threads: ThreadCount.current, kvMode: options.kv, activations: options.activations)
        for n in lengths { figures.prefillTokensPerSecond[String(n)] = median(prefill[n]!) }
        figures.decodeTokensPerSecond = median(decode)
        figures.decodeMillisecondsPerToken = 1000 / figures.decodeTokensPerSecond
        var rows: [[String]] = []
        if peer != nil {
            figures.peer = "llama.cpp (llama-cpp-python 0.3.36)"
            figures.peerPrefillTokensPerSecond = Dictionary(uniqueKeysWithValues: lengths.compactMap { n in
                peerPrefill[n].map { (String(n), median($0)) }
            })
            figures.peerDecodeTokensPerSecond = peerDecode.isEmpty ? nil : median(peerDecode)
            figures.prefillRatio = figures.peerPrefillTokensPerSecond?.reduce(into: [:]) { r, kv in
                r[kv.key] = figures.prefillTokensPerSecond[kv.key]! / kv.value
            }
            figures.decodeRatio = figures.peerDecodeTokensPerSecond.map { figures.decodeTokensPerSecond / $0 }
        }
        for n in lengths {
            let ours = figures.prefillTokensPerSecond[String(n)]!
            rows.append(["prefill \(n) tokens (tok/s)", fmt(ours)]
                + (peer == nil ? [] : [fmt(figures.peerPrefillTokensPerSecond?[String(n)]), fmt(figures.prefillRatio?[String(n)], 2)]))
        }
        rows.append(["decode after \(decodePrompt) (tok/s)", fmt(figures.decodeTokensPerSecond)]
            + (peer == nil ? [] : [fmt(figures.peerDecodeTokensPerSecond), fmt(figures.decodeRatio, 2)]))
        let header = ["metric", "PagedFlex"] + (peer == nil ? [] : ["llama.cpp", "ratio"])
        print("bench decode: \(ThreadCount.current) threads, kv \(options.kv.rawValue), medians of \(reps)")
        print(Table(header: header, rows: rows).render())
        if profile {
            figures.profile = try await measureProfile(engine, corpus: corpus, prefillLength: lengths.max()!)
            printProfile(figures.profile!)
        }
        if let json { try writeJSON(figures, to: json) }
    }

    /// One decode run and one prefill run with the stage timer on, an empty-loop timing and the
    /// read bandwidth, all in this process.
    private func measureProfile(_ engine: Engine, corpus: [Int32], prefillLength: Int) async throws -> Profile {
        // The usage (and the profile in it) is published after each step: wait for the one that
        // saw the last request finish.
        func snapshot() async throws -> ForwardProfile {
            var usage = engine.usage()
            while usage.runningSequences + usage.waitingSequences > 0 {
                try await Task.sleep(for: .milliseconds(1))
                usage = engine.usage()
            }
            return usage.forwardProfile ?? ForwardProfile()
        }
        let pool = ThreadPool.shared
        let before = try await snapshot()
        var loops = pool.loopCount
        let stats = try await run(engine, Array(corpus.prefix(decodePrompt)), generate: generate)
        loops = pool.loopCount - loops
        let afterDecode = try await snapshot()
        let decode = afterDecode.decode.subtracting(before.decode)
        var promptLoops = pool.loopCount
        _ = try await run(engine, Array(corpus.prefix(decodePrompt)), generate: 1)
        promptLoops = pool.loopCount - promptLoops
        let prefillStart = try await snapshot()
        _ = try await run(engine, Array(corpus.prefix(prefillLength)), generate: 1)
        let prefill = try await snapshot().prefill.subtracting(prefillStart.prefill)
        let decodedTokens = max(1, stats.generatedTokenCount - 1)
        let iterations = 20_000
        let start = ForwardProfile.now()
        for _ in 0..<iterations { pool.parallelFor(pool.threadCount) { _ in } }
        let empty = (ForwardProfile.now() - start) / Double(iterations)
        let bandwidth = MemoryBandwidth.measure(arrayBytes: 256 << 20, repetitions: 5)
        let matmulSeconds = decode.stages.filter { $0.key.isMatmul }.reduce(0) { $0 + $1.value.seconds }
        let matmulBytes = decode.stages.reduce(0) { $0 + $1.value.weightBytes }
        let gbps = matmulSeconds > 0 ? Double(matmulBytes) / matmulSeconds / 1e9 : 0
        return Profile(
            decode: decode, prefill: prefill, prefillTokens: prefillLength,
            loopsPerDecodedToken: Double(loops - promptLoops) / Double(decodedTokens), emptyLoopMicroseconds: empty * 1e6,
            readBandwidth: bandwidth, decodeWeightGBps: gbps, decodeWeightStreamFraction: gbps / bandwidth.readMedianGBps)
    }

    private func printProfile(_ p: Profile) {
        print("\nprofile: decode after \(decodePrompt) tokens (\(p.decode.tokens) decode steps)")
        print(profileTable(p.decode, per: p.decode.tokens, unit: "token"))
        if p.decode.argmaxRows > 0 {
            print("output: the 5-bit shadow, then \(fmt(Double(p.decode.argmaxRows) / Double(max(p.decode.tokens, 1)), 1)) rows a token in full (--no-argmax-shadow: all)")
        }
        print("\nprofile: prefill of \(p.prefillTokens) tokens (\(p.prefill.steps) steps)")
        print(profileTable(p.prefill, per: p.prefill.tokens, unit: "token"))
        print(
            "\nparallel loops per decoded token: \(fmt(p.loopsPerDecodedToken, 0)); one empty loop: \(fmt(p.emptyLoopMicroseconds, 2)) µs "
                + "(\(fmt(p.loopsPerDecodedToken * p.emptyLoopMicroseconds / 1000, 3)) ms/token)")
        print(
            "read bandwidth (STREAM-like, \(p.readBandwidth.threads) threads): \(fmt(p.readBandwidth.readMedianGBps, 2)) GB/s; "
                + "decode streams its weights at \(fmt(p.decodeWeightGBps, 2)) GB/s = \(fmt(100 * p.decodeWeightStreamFraction, 1))% of it")
    }

    private func run(_ engine: Engine, _ prompt: [Int32], generate: Int) async throws -> GenerationStats {
        let request = GenerationRequest(promptTokens: prompt, sampling: .greedy, stop: StopConditions(maxTokens: generate))
        for try await event in engine.submit(request) { if let s = event.stats { return s } }
        throw CLIError("the engine returned no stats")
    }
}

/// A profile's stages as a table: time per `unit` (`tokens` of them), share, weight GB/s.
func profileTable(_ f: ForwardProfile.Steps, per tokens: Int, unit: String) -> String {
    let total = f.seconds
    let rows = ForwardProfile.Stage.allCases.compactMap { stage -> [String]? in
        guard let t = f.stages[stage], t.calls > 0 else { return nil }
        let gbps = t.weightBytes > 0 && t.seconds > 0 ? fmt(Double(t.weightBytes) / t.seconds / 1e9, 2) : ""
        return [stage.rawValue, fmt(t.seconds * 1000 / Double(max(tokens, 1)), 3), fmt(100 * t.seconds / total, 1), gbps]
    }
    return Table(header: ["stage", "ms/\(unit)", "%", "weights GB/s"], rows: rows + [["total", fmt(total * 1000 / Double(max(tokens, 1)), 3), "100.0", ""]]).render()
}

/// Tokens of the reference text (GPL-3, beside the peers), repeated to any length.
func benchCorpus(_ bundle: ModelBundle) throws -> [Int32] {
    let url = Peers.directory.deletingLastPathComponent().appendingPathComponent("reference/GPL-3.txt")
    let text = (try? String(contentsOf: url, encoding: .utf8))
        ?? String(repeating: "The quick brown fox jumps over the lazy dog while the engine measures its own speed. ", count: 400)
    let tokens = bundle.tokenizer.encode(text)
    return Array(repeatElement(tokens, count: 8).joined())
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fmt(_ v: Double?, _ digits: Int = 1) -> String {
    guard let v, v.isFinite else { return "-" }
    return String(format: "%.\(digits)f", v)
}

/// The threads the kernels use.
enum ThreadCount {
    static var current: Int {
        ProcessInfo.processInfo.environment["PAGEDFLEX_THREADS"].flatMap(Int.init) ?? ProcessInfo.processInfo.activeProcessorCount
    }
}

/// A plain-text table with aligned columns.
struct Table {
    var header: [String]
    var rows: [[String]]

    func render() -> String {
        let all = [header] + rows
        let widths = (0..<header.count).map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ")
        }
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line))
            .joined(separator: "\n")
    }
}
