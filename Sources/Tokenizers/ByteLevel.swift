/// GPT-2's reversible map between the 256 byte values and 256 printable Unicode scalars.
///
/// Byte-level BPE vocabularies (GPT-2, SmolLM2, Llama 3, Qwen…) store every token as a string of
/// these scalars, never raw bytes, so that a vocabulary file holds no control characters or
/// invalid UTF-8: a space is stored as `Ġ` (U+0120), a newline as `Ċ` (U+010A). The printable
/// bytes `!`…`~`, `¡`…`¬` and `®`…`ÿ` stand for themselves; the other 68 bytes, in increasing
/// order, take U+0100, U+0101, … so that the map is a bijection.
public enum ByteLevel {
    /// The scalar that stands for each byte value, indexed by the byte.
    public static let scalarForByte: [Unicode.Scalar] = {
        var scalars = [Unicode.Scalar](repeating: "\0", count: 256)
        var nextShifted: UInt32 = 0x100
        for byte in 0..<256 {
            if isPrintable(UInt8(byte)) {
                scalars[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                scalars[byte] = Unicode.Scalar(nextShifted)!
                nextShifted += 1
            }
        }
        return scalars
    }()

    /// The inverse map, indexed by scalar value (all 256 scalars are below U+0144); -1 where a
    /// scalar stands for no byte.
    private static let byteForScalarValue: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() {
            table[Int(scalar.value)] = Int16(byte)
        }
        return table
    }()

    /// Whether GPT-2 lets the byte stand for itself.
    private static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte a scalar stands for, or nil if it is not one of the 256.
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalarValue.count else { return nil }
        let byte = byteForScalarValue[value]
        return byte < 0 ? nil : UInt8(byte)
    }

    /// The byte-level spelling of some bytes: what a vocabulary stores for them.
    public static func text(for bytes: some Sequence<UInt8>) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(scalarForByte[Int(byte)]) }
        return String(text)
    }

    /// The bytes that a byte-level string spells, or nil if it holds a scalar outside the map.
    public static func bytes(for text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
