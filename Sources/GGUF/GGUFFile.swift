import Foundation

/// A GGUF model file (versions 2 and 3), memory-mapped: metadata decoded into typed values,
/// tensor infos validated against the file, tensor data left in the mapping.
///
/// ```
///  ┌ "GGUF" │ version u32 │ tensor count u64 │ metadata count u64
///  ├ metadata: key string │ type u32 │ value          (strings: u64 length + UTF-8 bytes)
///  ├ tensor infos: name │ n_dims u32 │ dims u64… │ type u32 │ data offset u64
///  ├ padding to general.alignment (default 32)
///  └ tensor data: each tensor at data start + its offset (a multiple of the alignment)
/// ```
public struct GGUFFile: Sendable {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian
    public static let defaultAlignment = 32

    public let path: String
    public let version: UInt32
    /// Metadata keys in file order (for display); values in ``metadata``.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataStart: Int
    public let mapping: MappedFile

    private let tensorIndex: [String: Int]

    /// Opens, maps and validates `url`.
    ///
    /// - Throws: ``GGUFError`` naming the first problem found. Tensors of types PagedFlex has no
    ///   kernels for are reported here, naming the type and the tensor.
    public init(contentsOf url: URL) throws(GGUFError) {
        try self.init(path: url.path)
    }

    public init(path: String) throws(GGUFError) {
        try self.init(mapping: try MappedFile(path: path), path: path)
    }

    /// Reads and validates a file already mapped (or copied into memory with
    /// ``MappedFile/init(copying:)``); `path` is only for display.
    public init(mapping: MappedFile, path: String) throws(GGUFError) {
        self.path = path
        self.mapping = mapping
        var reader = GGUFReader(mapping.bytes)

        let magic = try reader.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw .wrongMagic(found: magic) }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let metadataCount = try reader.read(UInt64.self, "metadata count")
        guard metadataCount <= UInt64(GGUFLimits.metadataCount) else {
            throw .limitExceeded(what: "the metadata count", value: metadataCount, limit: GGUFLimits.metadataCount)
        }
        guard tensorCount <= UInt64(GGUFLimits.tensorCount) else {
            throw .limitExceeded(what: "the tensor count", value: tensorCount, limit: GGUFLimits.tensorCount)
        }
        // Each entry takes well over one byte, so counts past the file size are lies.
        guard metadataCount <= UInt64(reader.remaining) else {
            throw .lengthPastEnd(what: "metadata count", offset: 16, length: metadataCount)
        }
        guard tensorCount <= UInt64(reader.remaining) else {
            throw .lengthPastEnd(what: "tensor count", offset: 8, length: tensorCount)
        }

        var keys: [String] = []
        var values: [String: GGUFValue] = [:]
        for _ in 0..<Int(metadataCount) {
            let key = try reader.readString("metadata key")
            let rawType = try reader.read(UInt32.self, "type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else { throw .unknownValueType(rawType, key: key) }
            let value = try reader.readValue(type: type, key: key)
            guard values.updateValue(value, forKey: key) == nil else { throw .duplicateKey(key) }
            keys.append(key)
        }
        metadataKeys = keys
        metadata = values

        if let raw = values["general.alignment"] {
            guard let a = raw.int, a > 0, a <= 65536, a & (a - 1) == 0 else {
                throw .badAlignment(UInt64(truncatingIfNeeded: raw.int ?? 0))
            }
            alignment = a
        } else {
            alignment = Self.defaultAlignment
        }

        struct RawTensor { var name: String; var dims: [UInt64]; var type: UInt32; var offset: UInt64 }
        var raws: [RawTensor] = []
        var index: [String: Int] = [:]
        for i in 0..<Int(tensorCount) {
            let name = try reader.readString("tensor name")
            let dimCount = try reader.read(UInt32.self, "dimension count of '\(name)'")
            guard dimCount <= GGUFLimits.dimensionCount else { throw .tooManyDimensions(tensor: name, count: dimCount) }
            var dims: [UInt64] = []
            for _ in 0..<dimCount { dims.append(try reader.read(UInt64.self, "dimensions of '\(name)'")) }
            let type = try reader.read(UInt32.self, "type of '\(name)'")
            let offset = try reader.read(UInt64.self, "data offset of '\(name)'")
            guard index.updateValue(i, forKey: name) == nil else { throw .duplicateTensor(name) }
            raws.append(RawTensor(name: name, dims: dims, type: type, offset: offset))
        }
        tensorIndex = index

        // The header lies inside the file and the alignment is at most 65536: no overflow.
        let headerEnd = reader.offset
        dataStart = (headerEnd + alignment - 1) / alignment * alignment
        let fileSize = mapping.byteCount
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(raws.count)
        for raw in raws {
            infos.append(
                try Self.validate(raw.name, raw.dims, raw.type, raw.offset, dataStart: dataStart,
                                  alignment: alignment, fileSize: fileSize))
        }
        tensors = infos
    }

    private static func validate(
        _ name: String, _ dims: [UInt64], _ rawType: UInt32, _ offset: UInt64,
        dataStart: Int, alignment: Int, fileSize: Int
    ) throws(GGUFError) -> GGUFTensorInfo {
        // Every dimension at least 1 (rows are counted by dividing by the first) and the
        // element count at most GGUFLimits.elementCount, so every size below fits an Int.
        guard !dims.contains(0) else { throw .zeroDimension(tensor: name, dimensions: dims) }
        var count: UInt64 = 1
        for d in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= UInt64(GGUFLimits.elementCount) else {
                throw .dimensionOverflow(tensor: name, dimensions: dims)
            }
            count = product
        }
        guard let type = GGMLType(rawValue: rawType) else {
            throw .unsupportedTensorType(tensor: name, type: "unknown ggml type \(rawType)")
        }
        guard type.isSupported else { throw .unsupportedTensorType(tensor: name, type: type.name) }
        let intDims = dims.map { Int($0) }
        let rowLength = intDims.first ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw .rowNotBlockAligned(tensor: name, rowLength: rowLength, blockSize: type.blockSize)
        }
        let byteCount = type.byteCount(elementCount: Int(count))
        guard offset % UInt64(alignment) == 0 else {
            throw .misalignedTensorData(tensor: name, offset: offset, alignment: alignment)
        }
        let (end, overflow) = (dataStart + byteCount).addingReportingOverflow(Int(truncatingIfNeeded: offset))
        guard offset <= UInt64(fileSize), !overflow, end <= fileSize else {
            throw .tensorDataOutOfBounds(tensor: name, offset: offset, byteCount: byteCount, fileSize: fileSize)
        }
        return GGUFTensorInfo(
            name: name, dimensions: intDims, type: type, dataOffset: Int(offset),
            elementCount: Int(count), byteCount: byteCount)
    }

    // MARK: Lookup

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of `tensor`'s data inside the mapping. Valid while this file (its mapping) lives.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[dataStart + tensor.dataOffset..<dataStart + tensor.dataOffset + tensor.byteCount])
    }

    /// A required metadata value, or a ``GGUFError/missingKey(_:)``.
    public func value(_ key: String) throws(GGUFError) -> GGUFValue {
        guard let v = metadata[key] else { throw .missingKey(key) }
        return v
    }

    public func int(_ key: String) throws(GGUFError) -> Int {
        guard let v = try value(key).int else { throw .wrongValueType(key: key, expected: "an integer") }
        return v
    }

    public func float(_ key: String) throws(GGUFError) -> Float {
        guard let v = try value(key).float else { throw .wrongValueType(key: key, expected: "a number") }
        return v
    }

    public func string(_ key: String) throws(GGUFError) -> String {
        guard let v = try value(key).string else { throw .wrongValueType(key: key, expected: "a string") }
        return v
    }
}
