@testable import Llama
import Testing

/// When a step's output product skips the shadow: only on the 8-bit path, once the rows the
/// shadow computes one token at a time (its last step's count per token, times the tokens) pass
/// 15 % of the matrix; never before a first shadow step, never on the fp32 path.
struct OutputShadowChoiceTests {
    @Test func theFullProductTakesOverOnlyWhereItIsCheaper() {
        let rows = 49152  // SmolLM2's vocabulary; 15 % is 7,372.8 rows
        #expect(!LlamaModel.fullProductIsCheaper(tokens: 16, rowsPerToken: nil, rowCount: rows))
        #expect(!LlamaModel.fullProductIsCheaper(tokens: 1, rowsPerToken: 2248, rowCount: rows))
        #expect(!LlamaModel.fullProductIsCheaper(tokens: 3, rowsPerToken: 2248, rowCount: rows))
        #expect(LlamaModel.fullProductIsCheaper(tokens: 4, rowsPerToken: 2248, rowCount: rows))
        #expect(LlamaModel.fullProductIsCheaper(tokens: 16, rowsPerToken: 2248, rowCount: rows))
        // Gemma 3's matrix and row count: the shadow stays at 16 sequences.
        #expect(!LlamaModel.fullProductIsCheaper(tokens: 16, rowsPerToken: 376, rowCount: 262_144))
        #expect(!LlamaModel.fullProductIsCheaper(tokens: 64, rowsPerToken: 0, rowCount: rows))
    }
}
