import Foundation
import GGUF
import Tokenizers

/// The real model's vocabulary for the fuzzers, from the GGUF file `PAGEDFLEX_FUZZ_VOCABULARY`
/// names (scripts/fuzz passes `Fuzz/vocabulary/smollm2.gguf`, the tokenizer metadata of
/// SmolLM2-135M-Instruct cut out by `Fuzz/make-seeds.py`).
public enum Vocabulary {
    /// The vocabulary file: `PAGEDFLEX_FUZZ_VOCABULARY`.
    public static let path: String = {
        guard let path = ProcessInfo.processInfo.environment["PAGEDFLEX_FUZZ_VOCABULARY"] else {
            fatalError("set PAGEDFLEX_FUZZ_VOCABULARY to a GGUF file with tokenizer.ggml.* metadata (scripts/fuzz does)")
        }
        return path
    }()

    /// Read once: the tokens, merges and token types of the vocabulary file.
    public static let tokenizer: BPETokenizer = {
        do {
            let file = try GGUFFile(path: path)
            guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.stringArray,
                  let merges = file.metadata["tokenizer.ggml.merges"]?.stringArray,
                  let types = file.metadata["tokenizer.ggml.token_type"]?.int32Array
            else { fatalError("\(path) lacks tokenizer.ggml.tokens, merges or token_type") }
            return try BPETokenizer(
                tokens: tokens, merges: merges, tokenTypes: types,
                preTokenizer: try PreTokenizer(ggmlName: file.metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"),
                bosTokenID: nil, eosTokenID: nil, addBOS: false)
        } catch {
            fatalError("cannot read the vocabulary \(path): \(error)")
        }
    }()

    /// The byte values without a token of their own (encoding drops them).
    public static let missingBytes: Set<UInt8> = Set((0...255).filter { tokenizer.tokenID(String(ByteLevel.scalarForByte[$0])) == nil }.map(UInt8.init))
}
