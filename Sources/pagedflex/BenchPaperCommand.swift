import ArgumentParser
import Foundation
import Kernels
import PagedKVCache
import PaperBench

/// `pagedflex bench paper`: the paper's whole evaluation on the real model, written as a report
/// with figures. The experiments live in the PaperBench library; this is the command line.
struct BenchPaperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper",
        abstract: "The paper's evaluation (latency, memory, mixed batch, growing chat, page sizes, long generation, perplexity): paged vs contiguous vs no KV cache, written as results.json, CSVs, SVG figures and REPORT.md.",
        discussion: "Default scale: under 30 minutes on two cores; --quick under 10; --full goes to the paper's scale where the model's 8,192-token context allows.")

    @Option(help: "The GGUF model file.")
    var model: String = defaultModelPath

    @Option(help: "The output folder.")
    var out: String = "paper-results"

    @Flag(help: "A smaller run (shorter lengths and batches): under 10 minutes on two cores.")
    var quick = false

    @Flag(help: "The paper's scale (lengths to 8192, mixed batch 128…8192, chat to 32k, generation to 100k, capped at the context).")
    var full = false

    @Flag(help: "The long-context scenarios for a model with a 32k context (Gemma 3): latency and memory to 32,768 tokens (no cache to 4,096), the growing chat from 1k to 32k; the other experiments are not run.")
    var long = false

    @Option(help: "Only these experiments, comma-separated (\(PaperBench.experimentKeys.joined(separator: ", "))), at the chosen scale.")
    var experiments: String?

    @Option(help: "Seed of the mixed batch's prompt lengths.")
    var seed: UInt64?

    @Option(help: "Tokens each mixed-batch request generates (the scale's default: 32). The batch's prompts are the same; more generated tokens make decoding, where admitting more sequences at once pays, a larger part of its work.")
    var mixedGenerate: Int?

    @Option(help: "Activations of every engine of the run: f32 (exact, default) or q8 (8-bit, faster, as llama.cpp).")
    var activations: ActivationPrecision = .f32

    @Option(help: "KV element type of every engine of the run: f32 (default), f16 or int8 (the attention and memory experiments' own kernel timings stay f32).")
    var kvDtype: KVElementType = .f32

    @Flag(help: "Write REPORT.md in --out again from the results.json there, measuring nothing.")
    var reportOnly = false

    func validate() throws {
        if [quick, full, long].filter({ $0 }).count > 1 { throw ValidationError("--quick, --full and --long exclude each other") }
        if let experiments {
            let selected = selectedExperiments(experiments)
            let unknown = selected.filter { !PaperBench.experimentKeys.contains($0) }
            if !unknown.isEmpty {
                throw ValidationError("unknown experiments \(unknown.joined(separator: ", ")) (known: \(PaperBench.experimentKeys.joined(separator: ", ")))")
            }
            if selected.isEmpty { throw ValidationError("--experiments names none") }
        }
        if let mixedGenerate, mixedGenerate < 1 { throw ValidationError("--mixed-generate must be at least 1, got \(mixedGenerate)") }
    }

    func selectedExperiments(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() async throws {
        if reportOnly {
            do { try PaperBench.rewriteReport(in: URL(fileURLWithPath: out)) } catch { throw CLIError("cannot rewrite the report in \(out): \(error)") }
            print("report: \(URL(fileURLWithPath: out).appendingPathComponent("REPORT.md").path)")
            return
        }
        var plan = quick ? PaperPlan.quick : full ? PaperPlan.full : long ? PaperPlan.long : PaperPlan.standard
        if let seed { plan.seed = seed }
        if let mixedGenerate { plan.mixedBatch.generatedTokens = mixedGenerate }
        if activations != .f32 { plan.activations = activations }
        if kvDtype != .f32 { plan.kvElementType = kvDtype }
        if let experiments { plan.experiments = selectedExperiments(experiments) }
        let referenceText = Peers.directory.deletingLastPathComponent().appendingPathComponent("reference/GPL-3.txt")
        guard let text = try? String(contentsOf: referenceText, encoding: .utf8) else {
            throw CLIError("cannot read the reference text \(referenceText.path) (the shared folder beside the checkout, or set PAGEDFLEX_PEERS)")
        }
        let peerResults = Peers.directory.appendingPathComponent("results/llamacpp.json")
        let bench = PaperBench(
            plan: plan, modelPath: resolveModelPath(model), text: text, textName: "GPL-3.txt (shared/reference)",
            peerResults: FileManager.default.fileExists(atPath: peerResults.path) ? peerResults : nil,
            outputDirectory: URL(fileURLWithPath: out), command: (["pagedflex"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            progress: ProgressLog { printError($0) })
        do {
            let results = try await bench.run()
            let failed = results.failedExperiments
            print("report: \(URL(fileURLWithPath: out).appendingPathComponent("REPORT.md").path)")
            if !failed.isEmpty { throw CLIError("experiments failed: \(failed.joined(separator: ", ")) (see the report)") }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(error)")
        }
    }
}
