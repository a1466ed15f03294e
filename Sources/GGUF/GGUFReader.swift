/// A bounds-checked little-endian cursor over the mapped bytes of a GGUF file. Every read says
/// what it was reading, so a truncated file produces an error that names the field.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func require(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) {
        guard count <= remaining else { throw .truncated(offset: offset, needed: count - remaining, reading: what()) }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        try require(MemoryLayout<T>.size, what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func readString(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let start = offset
        let length = try read(UInt64.self, what() + " length")
        guard length <= UInt64(GGUFLimits.stringByteCount) else {
            throw .limitExceeded(what: "the length of \(what()) at offset \(start)", value: length, limit: GGUFLimits.stringByteCount)
        }
        guard length <= UInt64(remaining) else { throw .lengthPastEnd(what: what(), offset: start, length: length) }
        let count = Int(length)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        guard let string = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw .invalidUTF8(what: what(), offset: start)
        }
        offset += count
        return string
    }

    /// One value of `type`; `depth` is how many arrays enclose it (bounded by
    /// ``GGUFLimits/arrayDepth``, so a small file of nested arrays cannot exhaust the stack).
    mutating func readValue(type: GGUFValueType, key: String, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, key))
        case .int8: return .int8(try read(Int8.self, key))
        case .uint16: return .uint16(try read(UInt16.self, key))
        case .int16: return .int16(try read(Int16.self, key))
        case .uint32: return .uint32(try read(UInt32.self, key))
        case .int32: return .int32(try read(Int32.self, key))
        case .uint64: return .uint64(try read(UInt64.self, key))
        case .int64: return .int64(try read(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        case .bool: return .bool(try read(UInt8.self, key) != 0)
        case .string: return .string(try readString("metadata '\(key)'"))
        case .array:
            guard depth < GGUFLimits.arrayDepth else {
                throw .limitExceeded(what: "the array nesting depth of '\(key)'", value: UInt64(depth + 1), limit: GGUFLimits.arrayDepth)
            }
            let rawType = try read(UInt32.self, key + " array type")
            guard let elementType = GGUFValueType(rawValue: rawType) else { throw .unknownValueType(rawType, key: key) }
            let start = offset
            let count = try read(UInt64.self, key + " array length")
            guard count <= UInt64(GGUFLimits.arrayElementCount) else {
                throw .limitExceeded(what: "the length of metadata array '\(key)'", value: count, limit: GGUFLimits.arrayElementCount)
            }
            // Every element takes at least one byte: a count past the end is caught before
            // anything is allocated for it.
            guard count <= UInt64(remaining) else {
                throw .lengthPastEnd(what: "metadata array '\(key)'", offset: start, length: count)
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { elements.append(try readValue(type: elementType, key: key, depth: depth + 1)) }
            return .array(elementType: elementType, elements: elements)
        }
    }
}
