import Engine
import Foundation
import Testing

@testable import PaperBench

/// The bench end to end on a tiny model: every experiment's JSON holds what the report reads,
/// every figure is well-formed SVG, and a failing experiment is reported without losing the
/// others' results.
@Suite struct PaperBenchTests {
    /// Fields the report reads, per experiment, as paths into `results.json` (`[]` steps into
    /// the first element of an array).
    static let fieldsTheReportReads: [String: [[String]]] = [
        "latency": [["points", "[]", "mode"], ["points", "[]", "promptTokens"], ["points", "[]", "timeToFirstTokenSeconds"],
                    ["points", "[]", "decodeSecondsPerToken"], ["points", "[]", "generatedTokens"]],
        "memory": [["kvBytesPerToken"], ["modelFileBytes"], ["contiguousPageTokens"], ["points", "[]", "tokens"],
                   ["points", "[]", "kvMinimumBytes"], ["points", "[]", "kvBytesInUse"], ["points", "[]", "peakResidentBytes"]],
        "mixedBatch": [["promptLengths"], ["budgetTokens"], ["runs", "[]", "generatedTokensPerSecond"], ["runs", "[]", "timeToFirstToken", "p90"],
                       ["runs", "[]", "perTokenLatency", "p99"], ["runs", "[]", "kvBytesInUse"], ["runs", "[]", "maxRunningSequences"],
                       ["runs", "[]", "timeline"]],
        "growingChat": [["turns", "[]", "contextTokens"], ["turns", "[]", "cachedTokens"], ["turns", "[]", "timeToFirstTokenCacheOn"],
                        ["turns", "[]", "timeToFirstTokenCacheOff"], ["skippedTargets"]],
        "pageSizes": [["points", "[]", "tokensPerPage"], ["points", "[]", "attentionStepSeconds"], ["points", "[]", "kvWastePercent"],
                      ["sequenceLengths"]],
        "longGeneration": [["runs", "[]", "finalWindowTokensPerSecond"], ["runs", "[]", "windows", "[]", "tokensPerSecond"], ["targetLength"]],
        "perplexity": [["runs", "[]", "perplexity"], ["runs", "[]", "perWindowMeanNLL"], ["runs", "[]", "kvMode"]],
    ]

    @Test func everyExperimentWritesWhatTheReportReads() async throws {
        let (folder, results, messages) = try await TinyBench.run(TinyBench.plan)
        #expect(results.failedExperiments.isEmpty, "\(results.failedExperiments)")
        let data = try Data(contentsOf: folder.appendingPathComponent("results.json"))
        let report = try String(contentsOf: folder.appendingPathComponent("REPORT.md"), encoding: .utf8)
        // The report is a function of results.json alone.
        #expect(PaperReport.markdown(try PaperResults.decoder.decode(PaperResults.self, from: data)) == report)

        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in PaperBench.experimentKeys {
            let entry = try #require(json[key] as? [String: Any], "no entry for \(key)")
            #expect(entry["error"] == nil && entry["seconds"] is Double, "\(key)")
            let result = try #require(entry["result"], "no result for \(key)")
            for path in try #require(Self.fieldsTheReportReads[key]) {
                #expect(Self.value(result, at: path) != nil, "\(key): no \(path.joined(separator: "."))")
            }
            let csv = try String(contentsOf: folder.appendingPathComponent("\(key).csv"), encoding: .utf8)
            #expect(csv.split(separator: "\n").count >= 2, "\(key).csv has no rows")
            let svg = try SVGCheck.parse(Data(contentsOf: folder.appendingPathComponent("\(key).svg")))
            #expect(svg.root == "svg" && (svg.elementCounts["polyline"] ?? 0) >= 1, "\(key).svg draws no line")
            #expect(report.contains("](\(key).svg)"), "the report does not show \(key).svg")
        }
        for index in 1...7 { #expect(messages.contains { $0.contains("[\(index)/7]") && $0.contains("done in") }) }
        #expect(!report.contains("nan") && !report.contains("This experiment failed"))
    }

    @Test func theMeasurementsHoldTogether() async throws {
        let (_, results, _) = try await TinyBench.run(TinyBench.plan)
        let perToken = results.model.kvBytesPerToken
        let latency = try #require(results.latency?.result)
        #expect(latency.points.count == 9)
        #expect(latency.points.allSatisfy { $0.timeToFirstTokenSeconds > 0 && $0.decodeSecondsPerToken > 0 })

        let memory = try #require(results.memory?.result)
        for p in memory.points(.paged) { #expect(p.kvBytesInUse - p.kvMinimumBytes < 16 * perToken, "more than one partial page: \(p)") }
        for p in memory.points(.contiguous) { #expect(p.kvBytesInUse == 256 * perToken) }

        let batch = try #require(results.mixedBatch?.result)
        #expect(batch.fitsAtOnce(.contiguous) == 2 && batch.fitsAtOnce(.paged) == 4)
        #expect(batch.runs.allSatisfy { $0.generatedTokens == 16 })
        #expect(batch.runs.first { $0.mode == .contiguous }!.maxRunningSequences <= 2)

        let chat = try #require(results.growingChat?.result)
        #expect(chat.turns.map(\.turn) == [1, 2, 3, 4, 5, 6] && chat.skippedTargets == [280])
        // Recomputed at the doublings of the first turn (40, 80, 160 tokens) and at the last.
        #expect(chat.turns.map { $0.timeToFirstTokenCacheOff != nil } == [true, true, false, true, false, true])
        #expect(chat.turns.dropFirst().allSatisfy { $0.cachedTokens >= 16 }, "later turns reuse the earlier turns' pages")
        #expect(zip(chat.turns.dropFirst(), chat.turns).allSatisfy { $0.contextTokens > $1.contextTokens })

        let pages = try #require(results.pageSizes?.result)
        #expect(pages.points.map(\.tokensPerPage) == [8, 16, 32, 256])
        #expect(zip(pages.paged.dropFirst(), pages.paged).allSatisfy { $0.kvWastePercent >= $1.kvWastePercent })
        #expect(pages.points.allSatisfy { $0.attentionStepSeconds > 0 && $0.attentionStepCPUSeconds > 0 })
        #expect(pages.paged.allSatisfy { $0.endToEndPerTokenSeconds != nil } && pages.contiguous?.endToEndPerTokenSeconds == nil)

        let long = try #require(results.longGeneration?.result)
        #expect(long.runs.map(\.generatedTokens) == [72, 72])
        #expect(long.runs.allSatisfy { $0.windows.count == 4 && $0.finalWindowTokensPerSecond > 0 })

        let perplexity = try #require(results.perplexity?.result)
        #expect(perplexity.runs.count == 2 && perplexity.runs[0].perWindowMeanNLL == perplexity.runs[1].perWindowMeanNLL)
    }

    @Test func aFailingExperimentIsReportedAndTheOthersKeepTheirResults() async throws {
        var plan = TinyBench.plan
        plan.mixedBatch.budgetTokens = 8  // holds no page in either mode: the engine refuses to start
        let (folder, results, messages) = try await TinyBench.run(plan)
        #expect(results.failedExperiments == ["mixedBatch"])
        #expect(results.mixedBatch?.error?.contains("budget") == true, "\(results.mixedBatch?.error ?? "no error")")
        #expect(results.latency?.result != nil && results.memory?.result != nil && results.growingChat?.result != nil)
        #expect(results.pageSizes?.result != nil && results.longGeneration?.result != nil && results.perplexity?.result != nil)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("mixedBatch.svg").path))

        let data = try Data(contentsOf: folder.appendingPathComponent("results.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((json["mixedBatch"] as? [String: Any])?["error"] is String)
        let decoded = try PaperResults.decoder.decode(PaperResults.self, from: data)
        #expect(decoded.failedExperiments == ["mixedBatch"] && decoded.perplexity?.result != nil)

        let report = try String(contentsOf: folder.appendingPathComponent("REPORT.md"), encoding: .utf8)
        #expect(report.contains("## 3. Mixed batch") && report.contains("**This experiment failed**"))
        #expect(report.contains("](perplexity.svg)"))
        #expect(messages.contains { $0.contains("Mixed batch FAILED") })
    }

    /// `--activations q8` reaches every engine of the run (the perplexity moves off the exact
    /// path's), the report says which activations ran, and results from before the choice
    /// existed read as the exact default.
    @Test func theRunsActivationsReachItsEnginesAndItsReport() async throws {
        var plan = TinyBench.plan
        plan.experiments = ["perplexity"]
        let (_, exact, _) = try await TinyBench.run(plan)
        plan.activations = .q8
        let (folder, eightBit, _) = try await TinyBench.run(plan)
        let exactRuns = try #require(exact.perplexity?.result).runs, eightBitRuns = try #require(eightBit.perplexity?.result).runs
        #expect(exactRuns[0].perWindowMeanNLL != eightBitRuns[0].perWindowMeanNLL)
        #expect(abs(exactRuns[0].perplexity / eightBitRuns[0].perplexity - 1) < 0.05)
        let report = try String(contentsOf: folder.appendingPathComponent("REPORT.md"), encoding: .utf8)
        #expect(report.contains("| activations | q8 (8-bit"))
        #expect(PaperReport.markdown(exact).contains("| activations | f32 (exact"))

        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("results.json"))) as? [String: Any])
        var storedPlan = try #require(json["plan"] as? [String: Any])
        #expect(storedPlan["activations"] as? String == "q8")
        storedPlan["activations"] = nil
        json["plan"] = storedPlan
        let older = try PaperResults.decoder.decode(PaperResults.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(older.plan.activations == nil && PaperReport.markdown(older).contains("| activations | f32 (exact"))
    }

    @Test func llamaCppsPerplexityIsReadFromThePeersResults() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("llamacpp-\(UUID().uuidString).json")
        try Data(#"{"perplexity": {"perplexity": 24.9966, "n_windows": 8, "window": 512}, "decode": {}}"#.utf8).write(to: file)
        let peer = try #require(PeerPerplexity.load(file))
        #expect(peer.perplexity == 24.9966 && peer.windowCount == 8 && peer.window == 512)
        try Data(#"{"decode": {}}"#.utf8).write(to: file)
        #expect(PeerPerplexity.load(file) == nil)
    }

    /// The value at `path` in decoded JSON (`"[]"` steps into an array's first element).
    static func value(_ json: Any, at path: [String]) -> Any? {
        var node: Any? = json
        for step in path {
            node = step == "[]" ? (node as? [Any])?.first : (node as? [String: Any])?[step]
        }
        return node
    }
}
