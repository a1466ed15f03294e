import FuzzSupport
import Tokenizers

/// libFuzzer entry: arbitrary bytes through the byte-level BPE tokenizer of the real model's
/// vocabulary (`Fuzz/vocabulary/smollm2.gguf`, named by `PAGEDFLEX_FUZZ_VOCABULARY`).
///
/// The first byte picks the mode; the rest is the input. Properties that must hold:
/// - text (the bytes read as UTF-8, invalid sequences repaired): `decode(encode(text)) == text`,
///   with control tokens parsed or not, every id in the vocabulary;
/// - token ids (the bytes as little-endian 16-bit ids modulo the vocabulary): streaming decode,
///   one token at a time, concatenates to exactly `decode(ids)`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let tokenizer = Vocabulary.tokenizer
    let mode = data[0]
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if mode & 1 == 0 {
        let text = String(decoding: input, as: UTF8.self)
        let ids = tokenizer.encode(text, parseSpecialTokens: mode & 2 != 0)
        precondition(ids.allSatisfy(tokenizer.isValid), "an id outside the vocabulary")
        let decoded = tokenizer.decode(ids)
        precondition(decoded == text, "round trip failed: \(Array(text.utf8)) became \(Array(decoded.utf8))")
    } else {
        let count = input.count / 2
        let ids = (0..<count).map { i in
            Int32((Int(input[2 * i]) | Int(input[2 * i + 1]) << 8) % tokenizer.vocabularySize)
        }
        var streaming = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: mode & 2 != 0)
        var text = ""
        for id in ids { text += streaming.append(id) }
        text += streaming.finish()
        precondition(text == tokenizer.decode(ids, skipSpecialTokens: mode & 2 != 0), "streaming decode differs")
    }
    return 0
}
