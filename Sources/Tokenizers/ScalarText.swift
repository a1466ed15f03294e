/// A stretch of UTF-8 text decoded once into scalars, their ``ScalarClass`` and where each
/// starts in the bytes, so the pre-tokenizer can work on scalars and hand back byte ranges that
/// BPE reads without re-encoding.
///
/// One value is reused for every segment of an `encode` call: `load` keeps the arrays'
/// capacity, so steady-state encoding does not allocate here.
struct ScalarText {
    /// The scalar values.
    private(set) var values: [UInt32] = []
    /// The class of each scalar.
    private(set) var classes: [ScalarClass] = []
    /// `count + 1` entries: scalar `i` is the bytes `byteOffsets[i]..<byteOffsets[i + 1]` of the
    /// buffer it was loaded from.
    private(set) var byteOffsets: [Int] = []

    var count: Int { values.count }

    /// The bytes of the scalars `scalarRange`.
    func byteRange(of scalarRange: Range<Int>) -> Range<Int> {
        byteOffsets[scalarRange.lowerBound]..<byteOffsets[scalarRange.upperBound]
    }

    /// Decodes `utf8[range]`, which must be valid UTF-8 that starts and ends on scalar
    /// boundaries (any slice of a Swift string's UTF-8 cut at scalar boundaries is).
    mutating func load(_ utf8: UnsafeBufferPointer<UInt8>, range: Range<Int>) {
        values.removeAll(keepingCapacity: true)
        classes.removeAll(keepingCapacity: true)
        byteOffsets.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        while i < range.upperBound {
            let lead = UInt32(utf8[i])
            let value: UInt32
            let length: Int
            if lead < 0x80 {
                (value, length) = (lead, 1)
            } else if lead < 0xE0 {
                (value, length) = ((lead & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F), 2)
            } else if lead < 0xF0 {
                (value, length) = ((lead & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6
                    | UInt32(utf8[i + 2] & 0x3F), 3)
            } else {
                (value, length) = ((lead & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12
                    | UInt32(utf8[i + 2] & 0x3F) << 6 | UInt32(utf8[i + 3] & 0x3F), 4)
            }
            values.append(value)
            classes.append(ScalarClass.of(value))
            byteOffsets.append(i)
            i += length
        }
        byteOffsets.append(range.upperBound)
    }
}
