import Foundation
import PagedKVCache

/// Writes `REPORT.md` from a run's ``PaperResults``: the headline figures, where the paper's
/// claims hold or not, the machine, then one section per experiment (method, figure, table,
/// notes, or the error that stopped it).
public enum PaperReport {
    public static func markdown(_ results: PaperResults) -> String {
        let plan = results.plan
        var out = """
            # PagedFlex against the paper's evaluation

            The evaluation of *Paged Attention Meets FlexAttention* (`shared/seed/`, sections III-D and IV), run by one \
            command: `\(results.command)`. Scale `\(plan.scale)`, started \(results.startedAt)\
            \(duration(results)).

            The paper measured LLaMA-7B in fp16 on NVIDIA T4/L4 GPUs (and its published scripts never turned paging on). \
            This run measures \(results.model.file) (\(results.model.layers) layers, \(results.model.kvHeads) KV heads × \
            \(results.model.headSize), context \(grouped(results.model.contextLength)) tokens; KV in \((results.plan.kvElementType ?? .f32).reportName), \
            \(grouped(results.model.kvBytesPerToken)) bytes per token) on the CPU described below, with paging on: paged \
            KV against a contiguous buffer per sequence against no KV cache. Absolute figures are not comparable with the \
            paper's; the shapes of the curves and the ratios between modes are.


            """
        let headlines = PaperComparison.headlines(results)
        if !headlines.isEmpty {
            out += "## Headline figures\n\n" + headlines.map { "- " + $0 }.joined(separator: "\n") + "\n\n"
        }
        out += "## Where our results differ from the paper's claims, and why\n\n" + PaperComparison.markdown(results) + "\n"
        out += machine(results) + "\n"
        out += section(1, LatencyExperiment.self, plan.latency.method, results.latency, results)
        out += section(2, MemoryExperiment.self, MemoryExperiment(sweep: plan.latency).method, results.memory, results)
        out += section(3, MixedBatchExperiment.self, plan.mixedBatch.method, results.mixedBatch, results)
        out += section(4, GrowingChatExperiment.self, plan.growingChat.method, results.growingChat, results)
        out += section(5, PageSizeExperiment.self, plan.pageSizes.method, results.pageSizes, results)
        out += section(6, LongGenerationExperiment.self, plan.longGeneration.method, results.longGeneration, results)
        out += section(7, PerplexityExperiment.self, plan.perplexity.method, results.perplexity, results)
        out += """
            ## Reproduce

            ```sh
            swift build -c release -Xcc -march=x86-64-v3 --product pagedflex
            \(results.command)
            ```

            Every figure above is in `results.json` (`PaperResults`); each experiment's table is also a CSV beside this file.

            """
        return out
    }

    /// How long the run took, in wall and CPU time, or that it has not finished.
    static func duration(_ results: PaperResults) -> String {
        guard let wall = results.totalSeconds else { return " (still running, or interrupted)" }
        var text = ", \(fixed(wall / 60, 1)) minutes"
        if let cpu = results.totalCPUSeconds {
            let cores = Double(max(1, results.machine.kernelThreads))
            text += " (\(fixed(cpu / 60, 1)) CPU-minutes, so at least \(fixed(cpu / 60 / cores, 1)) minutes on \(Int(cores)) idle cores; "
                + "the difference is time other processes took, and stretches where fewer threads had work)"
        }
        return text
    }

    /// The section of one experiment: what was measured, then its figure, table and notes, or
    /// the error that stopped it.
    static func section<E: PaperExperiment>(
        _ number: Int, _ experiment: E.Type, _ method: String, _ outcome: ExperimentOutcome<E.Result>?, _ results: PaperResults
    ) -> String {
        var out = "## \(number). \(E.title)\n\n*Method.* \(method)\n\n"
        guard results.plan.runs(E.key) else { return out + "**Not part of this run** (scale `\(results.plan.scale)`, or `--experiments`).\n\n" }
        guard let outcome else { return out + "**Not run** (the bench stopped before it).\n\n" }
        if let error = outcome.error {
            return out + "**This experiment failed** after \(fixed(outcome.seconds, 1)) s, and has no results:\n\n```\n\(error)\n```\n\n"
        }
        guard let result = outcome.result else { return out + "**No result recorded.**\n\n" }
        out += "![\(E.title)](\(E.key).svg)\n\n"
        out += result.table.markdown() + "\n"
        let notes = result.notes(in: results)
        if !notes.isEmpty { out += notes + "\n\n" }
        out += "Data: [`\(E.key).csv`](\(E.key).csv); \(fixed(outcome.seconds, 0)) s.\n\n"
        return out
    }

    static func machine(_ results: PaperResults) -> String {
        let m = results.machine
        let load = { (values: [Double]) in values.isEmpty ? "unknown" : values.map { fixed($0, 2) }.joined(separator: ", ") }
        let rows: [[String]] = [
            ["CPU", m.cpuModel],
            ["cores (logical) / kernel threads", "\(m.logicalCores) / \(m.kernelThreads)"],
            ["memory", fixed(Double(m.memoryBytes) / 1_073_741_824, 1) + " GiB"],
            ["operating system", m.operatingSystem],
            ["build", m.buildConfiguration + (m.builtForX86_64_v3 ? ", x86-64-v3 (AVX2, FMA, F16C)" : ", generic x86-64 (no -march=x86-64-v3)")],
            ["8-bit AVX2 kernels", m.avx2KernelsActive ? "active" : "not available"],
            ["activations", (results.plan.activations ?? .f32) == .q8 ? "q8 (8-bit, `--activations q8`)" : "f32 (exact, the default)"],
            ["KV element type", results.plan.kvElementType.map { "\($0.rawValue) (`--kv-dtype`)" } ?? "f32 (the default)"],
            ["load average (1, 5, 15 min) at start", load(m.loadAverageStart)],
            ["load average (1, 5, 15 min) at end", m.loadAverageEnd.map(load) ?? "–"],
            ["text", "\(results.textName) (\(grouped(results.textTokens)) tokens)"],
        ]
        var out = "## Machine and build\n\n" + DataTable(header: ["", "this run"], rows: rows).markdown() + "\n"
        out += "The machine is shared: a load average above the core count means other work ran during the measurements, "
            + "which slows every mode alike (modes alternate within each experiment), so compare modes within a run, not "
            + "absolute figures across runs.\n"
        return out
    }
}

extension KVElementType {
    /// The element type as the report's prose names it.
    fileprivate var reportName: String {
        switch self {
        case .f32: "float32"
        case .f16: "float16"
        case .int8: "int8 with a float scale per row"
        }
    }
}
