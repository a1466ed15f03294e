/// Everything that can be wrong with a GGUF file, each case naming the problem and where it is.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case wrongMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    /// The file ends before a field that starts at `offset` and needs `needed` bytes.
    case truncated(offset: Int, needed: Int, reading: String)
    /// A string or array declares a length that runs past the end of the file.
    case lengthPastEnd(what: String, offset: Int, length: UInt64)
    case invalidUTF8(what: String, offset: Int)
    case unknownValueType(UInt32, key: String)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badAlignment(UInt64)
    case tooManyDimensions(tensor: String, count: UInt32)
    /// A tensor dimension of zero (no rows to read, and a division by zero waiting downstream).
    case zeroDimension(tensor: String, dimensions: [UInt64])
    /// A count, length or depth above its bound in ``GGUFLimits``.
    case limitExceeded(what: String, value: UInt64, limit: Int)
    case dimensionOverflow(tensor: String, dimensions: [UInt64])
    case unsupportedTensorType(tensor: String, type: String)
    /// A quantized tensor whose rows are not a whole number of blocks.
    case rowNotBlockAligned(tensor: String, rowLength: Int, blockSize: Int)
    case tensorDataOutOfBounds(tensor: String, offset: UInt64, byteCount: Int, fileSize: Int)
    case misalignedTensorData(tensor: String, offset: UInt64, alignment: Int)
    case missingKey(String)
    case wrongValueType(key: String, expected: String)
    case missingTensor(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open GGUF file '\(path)': \(reason)"
        case .wrongMagic(let found):
            "not a GGUF file: wrong magic 0x\(String(found, radix: 16)) (expected 'GGUF')"
        case .unsupportedVersion(let v): "unsupported GGUF version \(v) (supported: 2, 3)"
        case .truncated(let offset, let needed, let reading):
            "truncated GGUF file: \(reading) at offset \(offset) needs \(needed) more bytes than the file has"
        case .lengthPastEnd(let what, let offset, let length):
            "\(what) at offset \(offset) declares length \(length), past the end of the file"
        case .invalidUTF8(let what, let offset): "\(what) at offset \(offset) is not valid UTF-8"
        case .unknownValueType(let raw, let key): "metadata '\(key)' has unknown value type \(raw)"
        case .duplicateKey(let key): "duplicate metadata key '\(key)'"
        case .duplicateTensor(let name): "duplicate tensor name '\(name)'"
        case .badAlignment(let a): "general.alignment \(a) is not a power of two in 1...65536"
        case .tooManyDimensions(let t, let n): "tensor '\(t)' has \(n) dimensions (at most \(GGUFLimits.dimensionCount) allowed)"
        case .dimensionOverflow(let t, let dims):
            "tensor '\(t)' dimensions \(dims) exceed \(GGUFLimits.elementCount) elements"
        case .zeroDimension(let t, let dims): "tensor '\(t)' has a zero dimension \(dims)"
        case .limitExceeded(let what, let value, let limit): "\(what) is \(value), above the limit of \(limit)"
        case .unsupportedTensorType(let t, let type):
            "tensor '\(t)' has type \(type), which PagedFlex does not support (supported: \(GGMLType.allCases.filter(\.isSupported).map(\.name).joined(separator: ", ")))"
        case .rowNotBlockAligned(let t, let n, let b):
            "tensor '\(t)' rows of \(n) elements are not a multiple of its block size \(b)"
        case .tensorDataOutOfBounds(let t, let offset, let count, let size):
            "tensor '\(t)' data (\(count) bytes at data offset \(offset)) lies outside the file (\(size) bytes)"
        case .misalignedTensorData(let t, let offset, let alignment):
            "tensor '\(t)' data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .missingKey(let key): "metadata key '\(key)' is missing"
        case .wrongValueType(let key, let expected): "metadata '\(key)' is not \(expected)"
        case .missingTensor(let name): "tensor '\(name)' is missing"
        }
    }
}
