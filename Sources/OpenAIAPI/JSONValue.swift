import Foundation

/// A JSON document as parsed from a request body, so that every field's type can be checked
/// with an error that names the field (Codable's errors name coding paths, not the API's words).
public enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses `bytes` as one JSON value; a message that says what is wrong otherwise.
    public static func parse(_ bytes: [UInt8]) throws(APIError) -> JSONValue {
        guard !bytes.isEmpty else { throw .invalidRequest("the request body is empty; send a JSON object") }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw .invalidRequest("the request body is not valid JSON: \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return "\(error)"
    }
}

/// A JSON object's fields, read with the type each must have.
public struct JSONFields: Sendable {
    public let fields: [String: JSONValue]
    /// Where these fields sit in the request (`""` at the top, `"messages[0]."` inside).
    public let prefix: String

    public init(_ value: JSONValue, prefix: String = "", what: String = "the request body") throws(APIError) {
        guard case .object(let fields) = value else {
            throw .invalidRequest("\(what) must be a JSON object, got \(value.typeName)", param: prefix.isEmpty ? nil : String(prefix.dropLast()))
        }
        self.fields = fields
        self.prefix = prefix
    }

    /// The field, or nil when it is absent or null.
    public subscript(_ name: String) -> JSONValue? {
        if case .null? = fields[name] { return nil }
        return fields[name]
    }

    private func mismatch(_ name: String, _ expected: String, _ got: JSONValue) -> APIError {
        .invalidRequest("'\(prefix)\(name)' must be \(expected), got \(got.typeName)", param: prefix + name)
    }

    public func string(_ name: String) throws(APIError) -> String? {
        guard let v = self[name] else { return nil }
        guard case .string(let s) = v else { throw mismatch(name, "a string", v) }
        return s
    }

    public func bool(_ name: String) throws(APIError) -> Bool? {
        guard let v = self[name] else { return nil }
        guard case .bool(let b) = v else { throw mismatch(name, "a boolean", v) }
        return b
    }

    public func int(_ name: String) throws(APIError) -> Int? {
        guard let v = self[name] else { return nil }
        switch v {
        case .integer(let i): return Int(i)
        case .number(let d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: throw mismatch(name, "an integer", v)
        }
    }

    public func double(_ name: String) throws(APIError) -> Double? {
        guard let v = self[name] else { return nil }
        switch v {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: throw mismatch(name, "a number", v)
        }
    }

    public func object(_ name: String) throws(APIError) -> JSONFields? {
        guard let v = self[name] else { return nil }
        guard case .object = v else { throw mismatch(name, "an object", v) }
        return try JSONFields(v, prefix: prefix + name + ".")
    }

    /// A string or an array of strings (as `stop` takes).
    public func strings(_ name: String) throws(APIError) -> [String]? {
        guard let v = self[name] else { return nil }
        switch v {
        case .string(let s): return [s]
        case .array(let items):
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw mismatch(name, "a string or an array of strings", v) }
                out.append(s)
            }
            return out
        default: throw mismatch(name, "a string or an array of strings", v)
        }
    }
}
