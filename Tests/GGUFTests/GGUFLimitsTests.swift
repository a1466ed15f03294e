import Foundation
import GGUF
import Testing
import TestSupport

/// Hostile files: each bound of ``GGUFLimits`` and each size computed from the file, fed a value
/// past it, gives its own typed error (never a trap, an allocation of the lie, or a stack overflow).
struct GGUFLimitsTests {
    func open(_ bytes: [UInt8]) throws(GGUFError) -> GGUFFile {
        let mapping: Result<MappedFile, GGUFError> = bytes.withUnsafeBytes { raw in
            Result { () throws(GGUFError) in try MappedFile(copying: raw) }
        }
        return try GGUFFile(mapping: mapping.get(), path: "(test)")
    }

    func withTensor(dimensions: [UInt64]) -> [UInt8] {
        var w = GGUFWriter()
        w.add(tensor: "t", dimensions: [32, 2], type: .f32, values: [Float](repeating: 1, count: 64))
        w.tensors[0].dimensionsOverride = dimensions
        return w.bytes()
    }

    @Test func aZeroFirstDimensionIsRefused() {
        #expect(throws: GGUFError.zeroDimension(tensor: "t", dimensions: [0, 2])) { try open(withTensor(dimensions: [0, 2])) }
        #expect(throws: GGUFError.zeroDimension(tensor: "t", dimensions: [32, 0])) { try open(withTensor(dimensions: [32, 0])) }
        #expect(throws: GGUFError.zeroDimension(tensor: "t", dimensions: [0])) { try open(withTensor(dimensions: [0])) }
    }

    @Test func elementCountsAboveTheLimit() {
        let dims: [UInt64] = [1 << 25, 1 << 24]
        #expect(throws: GGUFError.dimensionOverflow(tensor: "t", dimensions: dims)) { try open(withTensor(dimensions: dims)) }
        let one: [UInt64] = [UInt64.max]
        #expect(throws: GGUFError.dimensionOverflow(tensor: "t", dimensions: one)) { try open(withTensor(dimensions: one)) }
    }

    @Test func tensorOffsetsNearUInt64MaxDoNotOverflow() {
        var w = GGUFWriter()
        w.add(tensor: "t", dimensions: [32], type: .f32, values: [Float](repeating: 1, count: 32))
        w.tensors[0].offsetOverride = UInt64.max - 31
        #expect(performing: { try open(w.bytes()) }, throws: { error in
            if case .tensorDataOutOfBounds(let name, _, _, _) = error as? GGUFError { return name == "t" }
            return false
        })
    }

    @Test func headerCountsAboveTheLimits() {
        var bytes = GGUFWriter().bytes()
        withUnsafeBytes(of: UInt64(GGUFLimits.tensorCount + 1).littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
        #expect(throws: GGUFError.limitExceeded(what: "the tensor count", value: UInt64(GGUFLimits.tensorCount + 1), limit: GGUFLimits.tensorCount)) {
            try open(bytes)
        }
        bytes = GGUFWriter().bytes()
        withUnsafeBytes(of: UInt64.max.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
        #expect(throws: GGUFError.limitExceeded(what: "the metadata count", value: .max, limit: GGUFLimits.metadataCount)) {
            try open(bytes)
        }
    }

    @Test func aStringLongerThanTheLimit() {
        var w = GGUFWriter()
        w.add("k", .string("v"))
        var bytes = w.bytes()
        withUnsafeBytes(of: UInt64.max.littleEndian) { bytes.replaceSubrange(24..<32, with: $0) }
        #expect(throws: GGUFError.limitExceeded(what: "the length of metadata key at offset 24", value: .max, limit: GGUFLimits.stringByteCount)) {
            try open(bytes)
        }
    }

    @Test func anArrayLongerThanTheLimit() {
        var w = GGUFWriter()
        w.add("list", .array(elementType: .uint8, elements: [.uint8(1)]))
        var bytes = w.bytes()
        let count = UInt64(GGUFLimits.arrayElementCount) + 1
        withUnsafeBytes(of: count.littleEndian) { bytes.replaceSubrange(44..<52, with: $0) }
        #expect(throws: GGUFError.limitExceeded(what: "the length of metadata array 'list'", value: count, limit: GGUFLimits.arrayElementCount)) {
            try open(bytes)
        }
    }

    /// 200,000 arrays each holding the next: 2.4 MB that recursed 200,000 frames deep before.
    @Test func deeplyNestedArraysStopAtTheDepthLimit() {
        var bytes = Array(GGUFWriter().bytes().prefix(24))  // the header without its padding
        withUnsafeBytes(of: UInt64(1).littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        u64(4)
        bytes += Array("deep".utf8)
        u32(GGUFValueType.array.rawValue)
        for _ in 0..<200_000 {
            u32(GGUFValueType.array.rawValue)
            u64(1)
        }
        #expect(throws: GGUFError.limitExceeded(what: "the array nesting depth of 'deep'", value: UInt64(GGUFLimits.arrayDepth + 1), limit: GGUFLimits.arrayDepth)) {
            try open(bytes)
        }
    }

    @Test func nestingUpToTheLimitReads() throws {
        var value = GGUFValue.array(elementType: .int8, elements: [.int8(7)])
        for _ in 1..<GGUFLimits.arrayDepth { value = .array(elementType: .array, elements: [value]) }
        var w = GGUFWriter()
        w.add("nested", value)
        #expect(try open(w.bytes()).metadata["nested"] == value)
    }

    @Test func anInMemoryFileReadsLikeAMappedOne() throws {
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add(tensor: "a", dimensions: [32, 2], type: .q4_1, values: (0..<64).map { Float($0) / 7 })
        let fromDisk = try GGUFFile(path: try w.write())
        let inMemory = try open(w.bytes())
        #expect(inMemory.metadata == fromDisk.metadata && inMemory.tensors == fromDisk.tensors)
        #expect(Array(inMemory.data(of: inMemory.tensors[0])) == Array(fromDisk.data(of: fromDisk.tensors[0])))
        #expect(throws: GGUFError.truncated(offset: 0, needed: 4, reading: "magic")) { try open([]) }
    }
}
