import AttentionBench
import FlexAttention
import Foundation
import PagedKVCache
import Testing

@Suite struct AttentionBenchmarkTests {
    @Test("a small benchmark run reports every shape, with its paged/contiguous ratio in the JSON")
    func smokeRun() throws {
        let configuration = AttentionBenchmarkConfiguration.smoke
        let report = try AttentionBenchmark.run(configuration)
        let decode = report.results.filter { $0.mode == .decode }
        #expect(decode.count == configuration.contexts.count * configuration.batchSizes.count * configuration.pageSizes.count)
        #expect(report.results.count == decode.count + configuration.prefillContexts.count * configuration.prefillPageSizes.count)
        for result in report.results {
            #expect(result.pagedMicroseconds > 0 && result.contiguousMicroseconds > 0)
            #expect(result.pagedOverContiguousRatio > 0 && result.pagedOverContiguousRatio.isFinite)
            #expect(result.kvBytes == result.batchSize * result.context * 2 * 3 * 64 * 4)
        }
        #expect(report.bandwidth.map { $0.copyMedianGBps > 0 && $0.readMedianGBps > 0 } == true)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"pagedOverContiguousRatio\""))
        let decoded = try JSONDecoder().decode(AttentionBenchmarkReport.self, from: Data(json.utf8))
        #expect(decoded == report)
        #expect(report.table().split(separator: "\n").count >= report.results.count + 2)
    }

    /// The full benchmark, for a release build: `PAGEDFLEX_BENCH_JSON=/tmp/attention.json swift
    /// test -c release -Xcc -march=x86-64-v3 --filter AttentionBenchmarkTests`. It prints the
    /// table, writes the JSON, and holds the goals (on a quiet machine). Comma-separated
    /// `PAGEDFLEX_BENCH_{CONTEXTS,BATCHES,PAGES,PREFILL,TYPES,REPS}` narrow the run.
    @Test("full benchmark: paged decode within 3% of contiguous, 70% of copy bandwidth from 2048 positions",
          .enabled(if: ProcessInfo.processInfo.environment["PAGEDFLEX_BENCH_JSON"] != nil))
    func fullRun() throws {
        let environment = ProcessInfo.processInfo.environment
        func list(_ name: String) -> [String]? {
            environment[name].map { text in text.split(separator: ",").map { String($0) } }
        }
        var configuration = AttentionBenchmarkConfiguration()
        configuration.contexts = list("PAGEDFLEX_BENCH_CONTEXTS")?.compactMap { Int($0) } ?? configuration.contexts
        configuration.batchSizes = list("PAGEDFLEX_BENCH_BATCHES")?.compactMap { Int($0) } ?? configuration.batchSizes
        configuration.pageSizes = list("PAGEDFLEX_BENCH_PAGES")?.compactMap { Int($0) } ?? configuration.pageSizes
        configuration.prefillContexts = list("PAGEDFLEX_BENCH_PREFILL")?.compactMap { Int($0) } ?? configuration.prefillContexts
        configuration.repetitions = list("PAGEDFLEX_BENCH_REPS")?.compactMap { Int($0) }.first ?? configuration.repetitions
        configuration.elementTypes = list("PAGEDFLEX_BENCH_TYPES")?.compactMap { KVElementType(rawValue: $0) }
            ?? configuration.elementTypes
        let report = try AttentionBenchmark.run(configuration) { print($0) }
        print(report.table())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: environment["PAGEDFLEX_BENCH_JSON"]!))
        #expect((report.worstDecodeRatio() ?? 0) >= 0.97)
        #expect((report.worstDecodeBandwidthFraction() ?? 0) >= 0.7)
    }
}
