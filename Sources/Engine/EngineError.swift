import GGUF
import Llama
import Sampling
import Tokenizers

/// What can go wrong between a request and its tokens, each case saying what to do about it.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case modelNotFound(path: String)
    case model(LlamaError)
    case tokenizer(TokenizerError)
    case tokenizerMetadata(String)
    case emptyPrompt
    case promptTooLong(tokenCount: Int, contextLength: Int)
    case invalidToken(Int32, vocabularySize: Int)
    case invalidSampling(SamplingError)
    case invalidConfiguration(String)
    /// The request alone needs more KV memory than the whole budget.
    case exceedsKVBudget(tokenCount: Int, budgetTokens: Int)
    case cancelled
    case engineStopped

    public var description: String {
        switch self {
        case .modelNotFound(let path):
            "model file not found: \(path) (run scripts/fetch-model, or pass --model PATH)"
        case .model(let e): e.description
        case .tokenizer(let e): "tokenizer: \(e)"
        case .tokenizerMetadata(let why): "tokenizer metadata: \(why)"
        case .emptyPrompt: "the prompt is empty"
        case .promptTooLong(let n, let context):
            "the prompt has \(n) tokens, more than the model's context of \(context) tokens"
        case .invalidToken(let t, let v): "token id \(t) is outside the vocabulary (0..<\(v))"
        case .invalidSampling(let e): "sampling: \(e)"
        case .invalidConfiguration(let why): "invalid configuration: \(why)"
        case .exceedsKVBudget(let n, let budget):
            "the request needs KV memory for \(n) tokens, more than the whole KV budget of \(budget) tokens (raise --kv-memory)"
        case .cancelled: "the request was cancelled"
        case .engineStopped: "the engine has stopped"
        }
    }
}
