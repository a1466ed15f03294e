import Foundation
import GGUF

/// Writes GGUF files for hermetic tests: tiny models with chosen weight types, and (with the
/// byte-level hooks) deliberately broken files.
public struct GGUFWriter {
    public struct Tensor {
        public var name: String
        public var dimensions: [Int]
        public var type: GGMLType
        public var data: [UInt8]
        /// Overrides the raw type tag written (to produce unsupported or unknown types).
        public var rawTypeOverride: UInt32?
        /// Overrides the data offset written (to produce out-of-bounds data).
        public var offsetOverride: UInt64?
        public var dimensionsOverride: [UInt64]?

        public init(name: String, dimensions: [Int], type: GGMLType, data: [UInt8]) {
            self.name = name
            self.dimensions = dimensions
            self.type = type
            self.data = data
        }
    }

    public var version: UInt32 = 3
    public var magic: UInt32 = GGUFFile.magic
    public var alignment = 32
    public var metadata: [(String, GGUFValue)] = []
    public var tensors: [Tensor] = []

    public init() {}

    public mutating func add(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    public mutating func add(tensor name: String, dimensions: [Int], type: GGMLType, values: [Float]) {
        tensors.append(Tensor(name: name, dimensions: dimensions, type: type, data: Quantize.encode(values, as: type)))
    }

    /// The file's bytes.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out += $0 }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .float64(let x): u64(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): string(s)
            case .array(let type, let elements):
                u32(type.rawValue)
                u64(UInt64(elements.count))
                elements.forEach(value)
            }
        }
        u32(magic)
        u32(version)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, v) in metadata {
            string(key)
            u32(v.type.rawValue)
            value(v)
        }
        var offsets: [UInt64] = []
        var next = 0
        for t in tensors {
            offsets.append(UInt64(next))
            next += (t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, offset) in zip(tensors, offsets) {
            string(t.name)
            let dims = t.dimensionsOverride ?? t.dimensions.map(UInt64.init)
            u32(UInt32(dims.count))
            dims.forEach(u64)
            u32(t.rawTypeOverride ?? t.type.rawValue)
            u64(t.offsetOverride ?? offset)
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out += t.data
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    /// Writes the file to a fresh temporary path and returns it.
    public func write(named name: String = "model") throws -> String {
        try Self.write(bytes(), named: name)
    }

    public static func write(_ bytes: [UInt8], named name: String = "model") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pagedflex-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("\(name)-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        return url.path
    }
}
