import FlexAttention
import PagedKVCache
import Testing
import TestSupport

@Suite struct KVWriterTests {
    @Test("rows land in their slots, per layer and head, converted to the layout's type", arguments: KVElementType.allCases)
    func roundTrip(elementType: KVElementType) throws {
        let layout = try PageLayout(tokensPerPage: 4, layerCount: 3, kvHeadCount: 2, headSize: 12, elementType: elementType)
        var random = SeededRandom(seed: 41)
        let tokens = 5, stride = 2 * 12 + 7  // rows inside a wider buffer, as in a fused QKV projection
        let keys = random.floats(tokens * stride, in: -3...3), values = random.floats(tokens * stride, in: -3...3)
        let slots = [13, 2, 7, 0, 22]  // pages 3, 0, 1, 0, 5
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 6 * layout.bytesPerPage, alignment: 64)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: 6 * layout.bytesPerPage)
        KVWriter.store(keys: keys, values: values, rowStride: stride, slots: slots, layer: 2, layout: layout, base: storage)
        func read(_ offset: Int) -> Float {
            switch elementType {
            case .f32: storage.load(fromByteOffset: offset * 4, as: Float.self)
            case .f16: Float(storage.load(fromByteOffset: offset * 2, as: Float16.self))
            }
        }
        func stored(_ x: Float) -> Float { elementType == .f16 ? Float(Float16(x)) : x }
        var written = 0
        for (token, slot) in slots.enumerated() {
            for kvHead in 0..<2 {
                let keyRow = layout.elementOffset(slot: slot, layer: 2, isValue: false, kvHead: kvHead)
                let valueRow = layout.elementOffset(slot: slot, layer: 2, isValue: true, kvHead: kvHead)
                for d in 0..<12 {
                    #expect(read(keyRow + d) == stored(keys[token * stride + kvHead * 12 + d]))
                    #expect(read(valueRow + d) == stored(values[token * stride + kvHead * 12 + d]))
                    written += 2
                }
            }
        }
        // Nothing else was touched (no value above was exactly 0).
        let nonZero = (0..<6 * layout.pageStride).filter { read($0) != 0 }.count
        #expect(nonZero == written)
    }
}
