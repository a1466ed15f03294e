import Engine
import Foundation
import Llama
import Tokenizers

/// The paper's growing chat (section IV-A, scenario 3): a conversation extended turn by turn,
/// the whole of it resubmitted each turn (as a chat client does), time to first token per turn
/// with the prefix cache on (earlier turns' pages are reused) and off (everything recomputed).
public struct GrowingChatExperiment: PaperExperiment, Hashable, Codable {
    public static let key = "growingChat"
    public static let title = "Growing chat"

    /// The conversation's length after the first user turn, and the length it grows to, in
    /// tokens.
    public var firstTurnTokens: Int
    public var finalTokens: Int
    /// Tokens each later turn adds (its user text and the previous reply).
    public var turnTokens: Int
    /// Tokens the model replies with at most per turn (it stops earlier at its end of turn).
    public var replyTokens = 32
    public var tokensPerPage = 16

    /// The conversation's length after each user turn.
    var targets: [Int] { Array(stride(from: firstTurnTokens, through: finalTokens, by: max(1, turnTokens))) }

    /// Whether the turn reaching `target` is also measured with the cache off: where the
    /// conversation has doubled since the first turn, and the last turn.
    func measuresCacheOff(_ target: Int, last: Int) -> Bool {
        target == last || (target % firstTurnTokens == 0 && (target / firstTurnTokens).nonzeroBitCount == 1)
    }

    public var method: String {
        "A ChatML conversation (the model's template) starts with a \(grouped(firstTurnTokens))-token user turn and grows "
            + "by about \(grouped(turnTokens)) tokens a turn to \(grouped(finalTokens)): each user turn is the next slice of the "
            + "reference text, each reply the model's greedy answer (at most \(replyTokens) tokens), and every turn submits "
            + "the whole conversation again. Time to first token with the prefix cache on (paged, \(tokensPerPage)-token "
            + "pages) at every turn; with the cache off (a second engine, the same prompt, right after) where the "
            + "conversation has doubled since the first turn and at the last."
    }

    public func run(in context: BenchContext) async throws -> GrowingChatResult {
        let bundle = context.bundle
        let limit = context.longestPrompt(generating: replyTokens)
        let contextLength = bundle.model.configuration.contextLength
        let kept = targets.filter { $0 <= contextLength }
        let skipped = targets.filter { $0 > contextLength }
        let budget = 2 * contextPageTokens(contextLength)
        let on = try Engine(bundle: bundle, configuration: context.configuration(.paged, tokensPerPage: tokensPerPage, budgetTokens: budget, prefixCaching: true))
        defer { on.shutdown() }
        let off = try Engine(bundle: bundle, configuration: context.configuration(.paged, tokensPerPage: tokensPerPage, budgetTokens: budget))
        defer { off.shutdown() }

        var messages: [ChatMessage] = []
        var textOffset = 0
        var turns: [ChatTurn] = []
        for target in kept {
            let (prompt, used) = userTurn(to: min(target, limit), limit: limit, after: messages, textOffset: textOffset, context: context)
            messages.append(.user(used.text))
            textOffset += used.tokenCount
            guard prompt.count > (turns.last?.contextTokens ?? 0) else { continue }
            let reply = try await MeasuredBatch.run(
                [context.request(prompt, generate: replyTokens, stopTokens: bundle.stopTokens)], on: on).traces[0]
            var cold: Double?
            if measuresCacheOff(target, last: kept.last!) {
                cold = try await MeasuredBatch.run([context.request(prompt, generate: 1)], on: off).traces[0].timeToFirstToken
            }
            messages.append(.assistant(reply.text))
            let turn = ChatTurn(
                turn: turns.count + 1, contextTokens: prompt.count, cachedTokens: reply.stats?.cachedPromptTokenCount ?? 0,
                timeToFirstTokenCacheOn: reply.timeToFirstToken, timeToFirstTokenCacheOff: cold, replyTokens: reply.tokens.count)
            turns.append(turn)
            context.progress(
                "growing chat: turn \(turn.turn), \(grouped(turn.contextTokens)) tokens (\(grouped(turn.cachedTokens)) cached): "
                    + "TTFT \(fixed(turn.timeToFirstTokenCacheOn, 2)) s with the prefix cache"
                    + (cold.map { ", \(fixed($0, 2)) s without" } ?? ""))
        }
        return GrowingChatResult(
            turns: turns, skippedTargets: skipped, contextLength: contextLength, replyTokens: replyTokens, tokensPerPage: tokensPerPage)
    }

    /// The prompt after a user turn that brings the conversation to about `target` tokens (never
    /// past `limit`), and the user text used (the next slice of the reference text).
    private func userTurn(
        to target: Int, limit: Int, after messages: [ChatMessage], textOffset: Int, context: BenchContext
    ) -> ([Int32], (text: String, tokenCount: Int)) {
        let bundle = context.bundle
        func encode(_ conversation: [ChatMessage]) -> [Int32] {
            bundle.tokenizer.encode(bundle.chatTemplate.render(conversation), parseSpecialTokens: true)
        }
        let base = encode(messages + [.user("")]).count
        var want = max(1, target - base)
        while true {
            // Decoding a slice of tokens and encoding it again inside the template gives about as
            // many tokens, not exactly; shrink the slice until the prompt fits.
            let text = bundle.tokenizer.decode(context.tokens(count: want, offset: textOffset))
            let prompt = encode(messages + [.user(text)])
            if prompt.count <= limit || want == 1 { return (prompt, (text, want)) }
            want = max(1, want - (prompt.count - limit))
        }
    }
}
