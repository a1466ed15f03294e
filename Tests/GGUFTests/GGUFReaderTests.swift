import Foundation
import GGUF
import Testing
import TestSupport

/// The reader on files written by TestSupport's GGUFWriter: every value type, nested arrays,
/// alignment, and each malformed file producing its own typed error.
struct GGUFReaderTests {
    func smallFile() -> GGUFWriter {
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add(tensor: "a", dimensions: [32, 2], type: .q4_1, values: (0..<64).map { Float($0) / 7 })
        w.add(tensor: "b", dimensions: [4], type: .f32, values: [1, 2, 3, 4])
        return w
    }

    func open(_ bytes: [UInt8]) throws(GGUFError) -> GGUFFile {
        let path = try! GGUFWriter.write(bytes, named: "broken")
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    @Test(arguments: [UInt32(2), 3])
    func readsEveryValueTypeAndNestedArrays(version: UInt32) throws {
        var w = smallFile()
        w.version = version
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("u64", .uint64(1 << 60)),
            ("i64", .int64(-(1 << 50))), ("f32", .float32(9.999999747e-06)), ("f64", .float64(2.5)),
            ("bool", .bool(true)), ("str", .string("héllo ✓")),
            ("nested", .array(elementType: .array, elements: [
                .array(elementType: .int32, elements: [.int32(1), .int32(2)]),
                .array(elementType: .string, elements: [.string("x")]),
            ])),
        ]
        for (k, v) in values { w.add(k, v) }
        let file = try GGUFFile(path: try w.write())
        #expect(file.version == version)
        for (k, v) in values { #expect(file.metadata[k] == v, "\(k)") }
        #expect(file.metadataKeys == ["general.architecture"] + values.map(\.0))
        let a = try #require(file.tensor(named: "a"))
        #expect(a.dimensions == [32, 2] && a.type == .q4_1 && a.byteCount == 40 && a.rowCount == 2)
        let b = try #require(file.tensor(named: "b"))
        #expect(file.data(of: b).bindMemory(to: Float.self).map { $0 } == [1, 2, 3, 4])
        #expect((file.dataStart + b.dataOffset) % 32 == 0)
    }

    @Test func honoursGeneralAlignment() throws {
        var w = smallFile()
        w.alignment = 64
        w.add("general.alignment", .uint32(64))
        let file = try GGUFFile(path: try w.write())
        #expect(file.alignment == 64)
        for t in file.tensors { #expect((file.dataStart + t.dataOffset) % 64 == 0) }
    }

    @Test func wrongMagic() {
        var w = smallFile()
        w.magic = 0x4C4C_4747
        #expect(throws: GGUFError.wrongMagic(found: 0x4C4C_4747)) { try open(w.bytes()) }
    }

    @Test func unsupportedVersion() {
        var w = smallFile()
        w.version = 1
        #expect(throws: GGUFError.unsupportedVersion(1)) { try open(w.bytes()) }
    }

    @Test func truncatedFiles() {
        let bytes = smallFile().bytes()
        // Cut inside the header, the metadata and the tensor infos: always a truncation error.
        for cut in [3, 10, 30, 60, 90] {
            #expect(performing: { try open(Array(bytes.prefix(cut))) }, throws: { error in
                if case .truncated = error as? GGUFError { return true }
                if case .lengthPastEnd = error as? GGUFError { return true }
                return false
            })
        }
        // Cut inside the last tensor's data (past its 16 bytes of padding): the data lies outside the file.
        #expect(performing: { try open(Array(bytes.dropLast(24))) }, throws: { error in
            if case .tensorDataOutOfBounds(let name, _, _, _) = error as? GGUFError { return name == "b" }
            return false
        })
        #expect(throws: GGUFError.truncated(offset: 0, needed: 4, reading: "magic")) { try open([]) }
    }

    @Test func stringLengthPastTheEnd() {
        var bytes = smallFile().bytes()
        // The first key's length field sits right after the 24-byte header.
        withUnsafeBytes(of: UInt64(1 << 20).littleEndian) { bytes.replaceSubrange(24..<32, with: $0) }
        #expect(throws: GGUFError.lengthPastEnd(what: "metadata key", offset: 24, length: 1 << 20)) { try open(bytes) }
    }

    @Test func arrayLengthPastTheEnd() {
        var w = GGUFWriter()
        w.add("list", .array(elementType: .uint8, elements: [.uint8(1)]))
        var bytes = w.bytes()
        // header 24 + key (8 + 4) + type 4 + element type 4 = 44: the array count.
        withUnsafeBytes(of: UInt64(1 << 20).littleEndian) { bytes.replaceSubrange(44..<52, with: $0) }
        #expect(throws: GGUFError.lengthPastEnd(what: "metadata array 'list'", offset: 44, length: 1 << 20)) { try open(bytes) }
    }

    @Test func tensorDataOutsideTheFile() {
        var w = smallFile()
        w.tensors[1].offsetOverride = 1 << 20
        #expect(performing: { try open(w.bytes()) }, throws: { error in
            if case .tensorDataOutOfBounds(let name, let offset, _, _) = error as? GGUFError { return name == "b" && offset == 1 << 20 }
            return false
        })
    }

    @Test func dimensionProductsThatOverflow() {
        var w = smallFile()
        w.tensors[1].dimensionsOverride = [1 << 32, 1 << 32, 16]
        #expect(throws: GGUFError.dimensionOverflow(tensor: "b", dimensions: [1 << 32, 1 << 32, 16])) { try open(w.bytes()) }
    }

    @Test func duplicateKeys() {
        var w = smallFile()
        w.add("general.architecture", .string("gpt2"))
        #expect(throws: GGUFError.duplicateKey("general.architecture")) { try open(w.bytes()) }
    }

    @Test func duplicateTensorNames() {
        var w = smallFile()
        w.tensors[1].name = "a"
        #expect(throws: GGUFError.duplicateTensor("a")) { try open(w.bytes()) }
    }

    @Test func unsupportedTensorTypesNameTypeAndTensor() throws {
        var w = smallFile()
        w.tensors[0].rawTypeOverride = GGMLType.iq4_nl.rawValue
        #expect(throws: GGUFError.unsupportedTensorType(tensor: "a", type: "IQ4_NL")) { try open(w.bytes()) }
        w.tensors[0].rawTypeOverride = 99
        #expect(throws: GGUFError.unsupportedTensorType(tensor: "a", type: "unknown ggml type 99")) { try open(w.bytes()) }
        let message = GGUFError.unsupportedTensorType(tensor: "a", type: "IQ4_NL").description
        #expect(message.contains("'a'") && message.contains("Q4_K, Q5_K, Q6_K"))
    }

    @Test func unknownValueType() {
        var bytes = smallFile().bytes()
        // header 24 + key "general.architecture" (8 + 20): the value type.
        withUnsafeBytes(of: UInt32(77).littleEndian) { bytes.replaceSubrange(52..<56, with: $0) }
        #expect(throws: GGUFError.unknownValueType(77, key: "general.architecture")) { try open(bytes) }
    }

    @Test func invalidUTF8() {
        var bytes = smallFile().bytes()
        bytes[32] = 0xFF  // first byte of the first key
        #expect(throws: GGUFError.invalidUTF8(what: "metadata key", offset: 24)) { try open(bytes) }
    }

    @Test func missingFile() {
        #expect(performing: { try GGUFFile(path: "/nonexistent/model.gguf") }, throws: { error in
            if case .cannotOpen(let path, _) = error as? GGUFError { return path == "/nonexistent/model.gguf" }
            return false
        })
    }
}
