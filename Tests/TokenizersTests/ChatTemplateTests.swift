import Testing
import Tokenizers

@Suite struct ChatTemplateTests {
    /// The ChatML prompt of the reference outputs (shared/reference/reference.json,
    /// `chatml_paged_attention`), written out.
    static let referencePrompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
        + "<|im_end|>\n<|im_start|>user\nWhat is paged attention?<|im_end|>\n<|im_start|>assistant\n"

    @Test func smolLM2AddsItsDefaultSystemPrompt() {
        #expect(ChatTemplate.smolLM2.render([.user("What is paged attention?")]) == Self.referencePrompt)
    }

    @Test func anExplicitSystemPromptReplacesTheDefault() {
        let messages: [ChatMessage] = [.system("Be brief."), .user("Hi"), .assistant("Hello."), .user("Bye")]
        #expect(ChatTemplate.smolLM2.render(messages) == """
            <|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n\
            <|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n
            """)
    }

    @Test func generationPromptIsOptional() {
        #expect(ChatTemplate.chatML(defaultSystemPrompt: nil).render([.user("Hi")], addGenerationPrompt: false)
            == "<|im_start|>user\nHi<|im_end|>\n")
        #expect(ChatTemplate.chatML(defaultSystemPrompt: nil).render([ChatMessage(role: "tool", content: "42")])
            == "<|im_start|>tool\n42<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func noMessagesRenderOnlyTheGenerationPrompt() {
        // As the Jinja source: the default system prompt is added inside the loop over messages.
        #expect(ChatTemplate.smolLM2.render([]) == "<|im_start|>assistant\n")
        #expect(ChatTemplate.smolLM2.render([], addGenerationPrompt: false) == "")
    }

    @Test func renderedMarkupEncodesToControlTokens() throws {
        let tokenizer = try TinyVocabulary.tokenizer()
        let ids = tokenizer.encode(ChatTemplate.chatML(defaultSystemPrompt: nil).render([.user("x")]))
        let imStart = tokenizer.tokenID("<|im_start|>")!, imEnd = tokenizer.tokenID("<|im_end|>")!
        #expect(ids.filter { $0 == imStart }.count == 2)
        #expect(ids.filter { $0 == imEnd }.count == 1)
        #expect(ids.first == imStart)
    }
}
