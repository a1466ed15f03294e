/// How text is cut into pieces before BPE runs inside each piece (BPE never merges across
/// pieces), named as llama.cpp names them in `tokenizer.ggml.pre`.
///
/// Both are hand-written matchers over Unicode scalars that reproduce the regexes of llama.cpp
/// and Hugging Face `tokenizers` exactly (checked against the latter on 3,000 random strings):
/// a regex engine would cost far more per scalar, and its own reading of `\s` and `\p{…}`
/// would become part of the tokenization.
public enum PreTokenizer: String, Sendable, Hashable, CaseIterable {
    /// GPT-2's regex alone:
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2 = "gpt-2"
    /// llama.cpp's `LLAMA_VOCAB_PRE_TYPE_SMOLLM` (Hugging Face: `Digits(individual_digits:
    /// true)` then `ByteLevel`): every `\p{N}` scalar becomes a piece of its own, then the GPT-2
    /// regex runs over each stretch between them. So `1905` is four pieces and the space in
    /// `in 1905` is a piece of its own.
    case smollm = "smollm"

    /// The pre-tokenizer a GGUF file names in `tokenizer.ggml.pre`. llama.cpp's converter writes
    /// `gpt-2`; `gpt2` is accepted too.
    public init(ggmlName: String) throws(TokenizerError) {
        switch ggmlName {
        case "gpt-2", "gpt2": self = .gpt2
        case "smollm": self = .smollm
        default: throw .unknownPreTokenizer(ggmlName)
        }
    }

    /// The pieces of `text`, in order; they concatenate back to `text`. Encoding does not call
    /// this (it works on byte ranges); it shows what BPE will see.
    public func split(_ text: String) -> [String] {
        var pieces: [String] = []
        Array(text.utf8).withUnsafeBufferPointer { bytes in
            var scalars = ScalarText()
            scalars.load(bytes, range: 0..<bytes.count)
            forEachPiece(of: scalars) { range in
                pieces.append(String(decoding: bytes[range], as: UTF8.self))
            }
        }
        return pieces
    }

    /// Calls `body` with the byte range of every piece of `text`, in order.
    func forEachPiece(of text: ScalarText, _ body: (Range<Int>) -> Void) {
        switch self {
        case .gpt2:
            Self.forEachGPT2Piece(of: text, in: 0..<text.count, body)
        case .smollm:
            // The first regex, `\p{N}`, isolates every number scalar; the text between two of
            // them is an independent input of the second regex (its lookahead stops there).
            var stretchStart = 0
            for i in 0..<text.count where text.classes[i] == .number {
                if stretchStart < i { Self.forEachGPT2Piece(of: text, in: stretchStart..<i, body) }
                body(text.byteRange(of: i..<(i + 1)))
                stretchStart = i + 1
            }
            if stretchStart < text.count {
                Self.forEachGPT2Piece(of: text, in: stretchStart..<text.count, body)
            }
        }
    }

    /// Calls `body` with the byte range of every GPT-2 regex match in `scalarRange`, which the
    /// regex sees as a whole input (its end is the end of the string for `(?!\S)`).
    private static func forEachGPT2Piece(
        of text: ScalarText, in scalarRange: Range<Int>, _ body: (Range<Int>) -> Void
    ) {
        var start = scalarRange.lowerBound
        while start < scalarRange.upperBound {
            let end = gpt2MatchEnd(in: text, from: start, limit: scalarRange.upperBound)
            body(text.byteRange(of: start..<end))
            start = end
        }
    }
}
