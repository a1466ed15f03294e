import FuzzSupport
import Tokenizers

/// libFuzzer entry: arbitrary bytes through the byte-level BPE tokenizer of the real model's
/// vocabulary (`Fuzz/vocabulary/smollm2.gguf`, named by `PAGEDFLEX_FUZZ_VOCABULARY`).
///
/// The first byte picks the mode; the rest is the input. Properties that must hold:
/// - text (the bytes read as UTF-8, invalid sequences repaired): `decode(encode(text)) == text`
///   less the bytes the vocabulary has no token for, with control tokens parsed or not, every id
///   in the vocabulary;
/// - token ids (the bytes as little-endian 16-bit ids modulo the vocabulary): streaming decode,
///   one token at a time, concatenates to exactly `decode(ids)`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard size > 0 else { return 0 }
    let tokenizer = Vocabulary.tokenizer
    let mode = data[0]
    let input = UnsafeBufferPointer(start: data + 1, count: size - 1)
    if mode & 1 == 0 {
        let text = String(decoding: input, as: UTF8.self)
        let ids = tokenizer.encode(text, parseSpecialTokens: mode & 2 != 0)
        precondition(ids.allSatisfy(tokenizer.isValid), "an id outside the vocabulary")
        // Bytes the vocabulary has no token for are dropped, as Hugging Face's BPE does without
        // an unknown token (SmolLM2 lacks 21: six ASCII controls, 0xC0, 0xC1, 0xF1, 0xF2, 0xF5–0xFF).
        let kept = text.utf8.filter { !Vocabulary.missingBytes.contains($0) }
        let decoded = tokenizer.decode(ids)
        precondition(decoded == String(decoding: kept, as: UTF8.self), "round trip failed: \(Array(text.utf8)) became \(Array(decoded.utf8))")
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

@_cdecl("FuzzTokenizer_main")
public func fuzzTokenizerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzTokenizer)
}
