import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks; each prints a table and, with --json PATH, writes its figures.",
        subcommands: [
            BenchDecodeCommand.self, BenchBatchCommand.self, BenchKVCommand.self, BenchAttentionCommand.self,
            BenchPaperCommand.self, BenchServeCommand.self,
        ])
}
