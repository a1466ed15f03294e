/// One tensor of a GGUF file: its name, shape, element type and where its data lies.
///
/// GGUF dimensions are listed innermost first: a weight of `dimensions == [576, 1536]` is 1536
/// rows of 576 contiguous elements, applied as `y = W x` with `x` of length 576.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the file's data section.
    public let dataOffset: Int
    public let elementCount: Int
    public let byteCount: Int

    /// Elements per row (the innermost dimension).
    public var rowLength: Int { dimensions.first ?? 1 }
    /// Rows: the product of the outer dimensions.
    public var rowCount: Int { dimensions.count > 1 ? elementCount / rowLength : 1 }
    /// Bytes of one row.
    public var bytesPerRow: Int { type.byteCount(elementCount: rowLength) }
}
