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
        let byteCount = 6 * layout.bytesPerPage, elementBytes = elementType.byteCount
        let storage = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        KVWriter.store(keys: keys, values: values, rowStride: stride, slots: slots, layer: 2, layout: layout, base: storage)
        func read(_ row: Int, _ d: Int) -> Float {
            switch elementType {
            case .f32: storage.load(fromByteOffset: (row + d) * 4, as: Float.self)
            case .f16: Float(storage.load(fromByteOffset: (row + d) * 2, as: Float16.self))
            case .int8: Float(storage.load(fromByteOffset: row + d, as: Int8.self))
                * storage.load(fromByteOffset: row - 4, as: Float.self)
            }
        }
        var written = Set<Int>()  // bytes of rows and their headers
        for (token, slot) in slots.enumerated() {
            for kvHead in 0..<2 {
                for isValue in [false, true] {
                    let row = layout.elementOffset(slot: slot, layer: 2, isValue: isValue, kvHead: kvHead)
                    let source = Array((isValue ? values : keys)[token * stride + kvHead * 12..<token * stride + kvHead * 12 + 12])
                    let expected = Self.stored(source, as: elementType)
                    for d in 0..<12 { #expect(read(row, d) == expected[d], "row \(row) value \(d)") }
                    if elementType == .int8 {
                        let largest = source.map(abs).max()!
                        #expect(zip(source, expected).allSatisfy { abs($0 - $1) <= largest / 254 * 1.0001 })
                        #expect((0..<12).contains { abs(storage.load(fromByteOffset: row + $0, as: Int8.self)) == 127 })
                    }
                    written.formUnion((row - layout.elementType.rowHeaderCount) * elementBytes..<(row + 12) * elementBytes)
                }
            }
        }
        // Nothing else was touched.
        let touched = (0..<byteCount).filter { storage.load(fromByteOffset: $0, as: UInt8.self) != 0 }
        #expect(Set(touched).isSubset(of: written))
        #expect(touched.count > written.count * 9 / 10)
    }

    /// The stored values: exact, F16-rounded, or an int8 row's `Float(q) × scale`.
    static func stored(_ row: [Float], as elementType: KVElementType) -> [Float] {
        switch elementType {
        case .f32: return row
        case .f16: return row.map { Float(Float16($0)) }
        case .int8:
            let largest = row.map(abs).max()!
            return row.map { ($0 * (127 / largest)).rounded(.toNearestOrEven) * (largest / 127) }
        }
    }

    /// Non-finite values are not representable; what matters is that storing them never traps
    /// (a conversion of NaN to an integer would) and that finite rows are unaffected. 12 values:
    /// eight through the vector loop, four through the scalar tail.
    @Test("an int8 row of zeros, or holding a NaN or an infinity, is stored without trapping")
    func int8EdgeRows() {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 4 + 12, alignment: 16)
        defer { storage.deallocate() }
        let row = storage + 4
        func storeAndRead(_ values: [Float]) -> [Float] {
            values.withUnsafeBufferPointer { Int8.storeRow($0.baseAddress!, count: 12, to: row) }
            let scale = Int8.scale(ofRow: UnsafeRawPointer(row))
            return (0..<12).map { Float(row.load(fromByteOffset: $0, as: Int8.self)) * scale }
        }
        #expect(storeAndRead([Float](repeating: 0, count: 12)) == [Float](repeating: 0, count: 12))
        var withNaN = [Float](repeating: -2, count: 12)
        withNaN[3] = .nan  // vector part
        withNaN[10] = .nan  // scalar tail
        let nanRow = storeAndRead(withNaN)
        #expect(nanRow[3] == 0 && nanRow[10] == 0)
        #expect(nanRow.enumerated().allSatisfy { [3, 10].contains($0.offset) || abs($0.element + 2) < 1e-6 })
        var withInfinity = [Float](repeating: 1, count: 12)
        withInfinity[5] = .infinity
        #expect(storeAndRead(withInfinity).contains { !$0.isFinite })
    }
}
