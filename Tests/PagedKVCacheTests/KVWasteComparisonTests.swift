import Testing

@testable import PagedKVCache

@Suite struct KVWasteComparisonTests {
    @Test func pagedWasteIsTheTailOfEachLastPageContiguousWasteTheRestOfTheContext() throws {
        let layout = smallLayout(tokensPerPage: 16)  // 16 B per token
        let comparison = try KVWasteComparison(sequenceLengths: [1, 16, 17, 100], layout: layout, contextLength: 128)
        // Paged: 1 + 1 + 2 + 7 pages; empty slots 15 + 0 + 15 + 12 = 42.
        #expect((comparison.paged.usedPageCount, comparison.paged.storedTokenCount) == (11, 134))
        #expect(comparison.paged.wasteBytes == 42 * 16)
        #expect(comparison.paged.bytesInUse == 176 * 16)
        // Contiguous: 4 buffers of 128; empty slots 127 + 112 + 111 + 28 = 378.
        #expect(comparison.contiguous.wasteBytes == 378 * 16)
        #expect(comparison.contiguous.bytesInUse == 512 * 16)
        #expect(comparison.paged.minimumBytes == comparison.contiguous.minimumBytes)
    }

    /// The paper's mixed batch: 16 sequences, lengths uniform in 128...8192, 16-token pages
    /// against contiguous buffers of the full 8192-token context.
    @Test func thePapersMixedBatch() throws {
        let lengths = KVWasteComparison.paperMixedBatch(seed: 2025)
        #expect(lengths.count == 16 && lengths.allSatisfy { (128 ... 8192).contains($0) })
        #expect(KVWasteComparison.paperMixedBatch(seed: 2025) == lengths)
        // SmolLM2-135M's geometry: 30 layers, 3 KV heads of 64, f32.
        let layout = try PageLayout(tokensPerPage: 16, layerCount: 30, kvHeadCount: 3, headSize: 64)
        let comparison = try KVWasteComparison(sequenceLengths: lengths, layout: layout, contextLength: 8192)
        print(comparison)
        #expect(comparison.paged.wasteBytes < 16 * layout.bytesPerPage)
        #expect(comparison.paged.wastePercent < 1)
        #expect(comparison.contiguous.wastePercent > 20)
        let emptySlots = lengths.reduce(0) { $0 + (16 - $1 % 16) % 16 }
        #expect(comparison.paged.wasteBytes == emptySlots * layout.bytesPerToken)
        #expect(comparison.contiguous.wasteBytes == lengths.reduce(0) { $0 + 8192 - $1 } * layout.bytesPerToken)
    }
}
