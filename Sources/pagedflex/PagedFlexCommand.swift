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

/// The models `scripts/fetch-model` fetches, by the short names `--model` also takes.
let modelAliases = ["smollm2": defaultModelPath, "gemma3": "models/gemma-3-270m-q4_k_m.gguf"]

/// `--model`'s value as a path: a short name (`gemma3`, `smollm2`) or the path itself.
func resolveModelPath(_ model: String) -> String { modelAliases[model.lowercased()] ?? model }
