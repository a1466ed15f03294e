/// The four classes of Unicode scalar that the GPT-2 pre-tokenizer regex distinguishes.
///
/// The regex (`' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+…'`) only ever asks whether a scalar is a
/// letter, a number, whitespace or none of these, so each scalar is classified once and the
/// matcher compares small integers instead of running a regex engine.
enum ScalarClass: UInt8, Sendable {
    /// `\p{L}`: general categories Lu, Ll, Lt, Lm, Lo.
    case letter
    /// `\p{N}`: general categories Nd, Nl, No (so `²`, `½`, `Ⅻ` and `٣` are numbers).
    case number
    /// `\s`: the Unicode `White_Space` property, which is what Oniguruma (the regex engine of
    /// Hugging Face `tokenizers`) means by `\s` on UTF-8 text: U+0009–U+000D, U+0020, U+0085,
    /// U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. Not U+001C–U+001F
    /// (Python's `str.isspace` would say yes) and not U+200B ZERO WIDTH SPACE.
    case whitespace
    /// Everything else: punctuation, symbols, marks, emoji, ZWJ, controls, unassigned.
    case other

    /// The class of each ASCII scalar, so plain English text never reaches the Unicode tables.
    private static let asciiClasses: [ScalarClass] = (0..<128).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"): .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): .number
        case 0x09...0x0D, 0x20: .whitespace
        default: .other
        }
    }

    /// The class of a scalar value (which must be a valid scalar).
    static func of(_ value: UInt32) -> ScalarClass {
        if value < 128 { return asciiClasses[Int(value)] }
        let properties = Unicode.Scalar(value).unsafelyUnwrapped.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
