import FuzzSupport
import Tokenizers

/// libFuzzer entry: arbitrary conversations through the chat template. The bytes split at 0xFF
/// into fields: a template selector, then (role, content) pairs, read as UTF-8. The rendered
/// prompt must hold every message in order, as `<|im_start|>role\ncontent<|im_end|>\n`, after
/// the default system prompt when the first message is not a system one, and end with the
/// assistant header when asked. Encoded with the real vocabulary (markup parsed into control
/// tokens), it decodes back to the same text (less the bytes the vocabulary lacks).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let fields = Array(UnsafeBufferPointer(start: data, count: size)).split(separator: 0xFF, omittingEmptySubsequences: false)
    guard let selector = fields.first?.first else { return 0 }
    let system = selector & 1 == 0 ? nil : String(decoding: fields.first!.dropFirst(), as: UTF8.self)
    let template = selector & 2 == 0 ? ChatTemplate.smolLM2 : .chatML(defaultSystemPrompt: system)
    var messages: [ChatMessage] = []
    var rest = fields.dropFirst()
    while let role = rest.popFirst() {
        let content = rest.popFirst() ?? ArraySlice()
        messages.append(ChatMessage(role: String(decoding: role, as: UTF8.self), content: String(decoding: content, as: UTF8.self)))
    }
    let generationPrompt = selector & 4 != 0
    let rendered = template.render(messages, addGenerationPrompt: generationPrompt)

    var expected = ""
    if case .chatML(let defaultSystem) = template, let defaultSystem, let first = messages.first, first.role != "system" {
        expected += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
    }
    for m in messages { expected += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
    if generationPrompt { expected += "<|im_start|>assistant\n" }
    precondition(rendered == expected, "rendered \(rendered.debugDescription), expected \(expected.debugDescription)")
    let tokenizer = Vocabulary.tokenizer
    let ids = tokenizer.encode(rendered, parseSpecialTokens: true)
    let kept = rendered.utf8.filter { !Vocabulary.missingBytes.contains($0) }  // as FuzzTokenizer
    precondition(tokenizer.decode(ids) == String(decoding: kept, as: UTF8.self), "the rendered prompt does not survive encode and decode")
    return 0
}

@_cdecl("FuzzChatTemplate_main")
public func fuzzChatTemplateMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzDriver.run(argc, argv, fuzzChatTemplate)
}
