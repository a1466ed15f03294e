/// How a conversation is written as the text a chat model was trained on.
///
/// Model files carry their template as Jinja source (`tokenizer.chat_template`); rather than
/// embed a Jinja interpreter, each template family is rendered by Swift code here and the engine
/// picks the family. Render, then encode with special tokens parsed, so the markup becomes
/// control tokens.
public enum ChatTemplate: Sendable, Hashable {
    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n` per message), as SmolLM2, Qwen and others
    /// use it. When the first message is not a system message, a system message with
    /// `defaultSystemPrompt` is put first (if there is one), as SmolLM2's template does.
    case chatML(defaultSystemPrompt: String?)
    /// Gemma's turns (`<start_of_turn>user\ncontent<end_of_turn>\n`, the assistant's role
    /// written `model`); a system message's text goes in front of the first user turn, as
    /// Gemma 3's template does.
    case gemma

    /// SmolLM2-Instruct's template, with the default system prompt of its Jinja source.
    public static let smolLM2 = ChatTemplate.chatML(
        defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face")

    /// The prompt text for `messages`.
    ///
    /// - Parameter addGenerationPrompt: End with the header of an assistant turn
    ///   (`<|im_start|>assistant\n`), so the model writes the reply.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        switch self {
        case .chatML(let defaultSystemPrompt):
            var text = ""
            if let first = messages.first, first.role != "system", let defaultSystemPrompt {
                text += Self.chatMLTurn(.system(defaultSystemPrompt))
            }
            for message in messages { text += Self.chatMLTurn(message) }
            if addGenerationPrompt { text += "<|im_start|>assistant\n" }
            return text
        case .gemma:
            var text = ""
            var system: String?
            for message in messages {
                if message.role == "system" {
                    system = message.content
                    continue
                }
                let role = message.role == "assistant" ? "model" : message.role
                let content = system.map { "\($0)\n\n\(message.content)" } ?? message.content
                system = nil
                text += "<start_of_turn>\(role)\n\(content)<end_of_turn>\n"
            }
            if addGenerationPrompt { text += "<start_of_turn>model\n" }
            return text
        }
    }

    private static func chatMLTurn(_ message: ChatMessage) -> String {
        "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
    }
}
