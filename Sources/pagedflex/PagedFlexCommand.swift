import ArgumentParser

@main
struct PagedFlexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pagedflex",
        abstract: "A Swift inference engine for decoder-only language models, with a paged KV cache and FlexAttention.",
        subcommands: [GenerateCommand.self, ServeCommand.self, PerplexityCommand.self, InspectCommand.self, BenchCommand.self],
        defaultSubcommand: GenerateCommand.self)
}

/// The model file every command loads unless told otherwise.
let defaultModelPath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
