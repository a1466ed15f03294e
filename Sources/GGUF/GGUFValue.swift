import Foundation

/// The type tag of a metadata value, as stored in the file.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64
}

/// One metadata value. Arrays may nest.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    /// Elements of one type (`elementType`); `elements` may be arrays themselves.
    case array(elementType: GGUFValueType, elements: [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// Any integer value as an `Int` (nil for non-integers and for values that do not fit).
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// Any numeric value as a `Double`.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }

    /// The value as a `Float` exactly when it is stored as float32 (keeps the stored bits).
    public var float: Float? {
        if case .float32(let v) = self { return v }
        return double.map(Float.init)
    }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(_, let elements) = self { return elements }
        return nil
    }

    public var stringArray: [String]? {
        guard let elements = array else { return nil }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard case .string(let s) = e else { return nil }
            out.append(s)
        }
        return out
    }

    public var int32Array: [Int32]? {
        guard let elements = array else { return nil }
        var out: [Int32] = []
        out.reserveCapacity(elements.count)
        for e in elements {
            guard let v = e.int, let v32 = Int32(exactly: v) else { return nil }
            out.append(v32)
        }
        return out
    }

    public var floatArray: [Float]? {
        guard let elements = array else { return nil }
        var out: [Float] = []
        for e in elements {
            guard let v = e.float else { return nil }
            out.append(v)
        }
        return out
    }
}

extension GGUFValue: CustomStringConvertible {
    /// A short rendering for `pagedflex inspect`: long arrays are abbreviated.
    public var description: String {
        switch self {
        case .string(let s):
            let shown = s.count > 80 ? String(s.prefix(77)) + "..." : s
            return "\"" + shown.replacingOccurrences(of: "\n", with: "\\n") + "\""
        case .array(let type, let elements):
            let head = elements.prefix(5).map(\.description).joined(separator: ", ")
            let more = elements.count > 5 ? ", ... (\(elements.count) \(type))" : ""
            return "[" + head + more + "]"
        case .bool(let v): return String(v)
        case .float32(let v): return String(v)
        case .float64(let v): return String(v)
        default: return String(int ?? 0)
        }
    }
}
