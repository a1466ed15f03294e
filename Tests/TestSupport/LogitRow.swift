/// One row of logits checked against the reference: its argmax, its maximum, and its largest
/// distance from another row. Here, in the optimized TestSupport module, because the test
/// targets are built without optimization and a closure per logit over Gemma's 262,144-entry
/// rows at every prompt position took most of a real-model suite's time.
public enum LogitRow {
    /// The first index of the largest value (as `indices.max { row[$0] < row[$1] }` picks) and
    /// that value; nil for an empty row.
    public static func argmaxAndMax(_ row: UnsafeBufferPointer<Float>) -> (index: Int, value: Float)? {
        guard var best = row.first.map({ (index: 0, value: $0) }) else { return nil }
        for i in row.indices where row[i] > best.value { best = (i, row[i]) }
        return best
    }

    /// As above; the index counts from the slice's start index.
    public static func argmaxAndMax(_ row: ArraySlice<Float>) -> (index: Int, value: Float)? {
        row.withUnsafeBufferPointer { argmaxAndMax($0) }.map { (row.startIndex + $0.index, $0.value) }
    }

    public static func argmaxAndMax(_ row: [Float]) -> (index: Int, value: Float)? {
        row.withUnsafeBufferPointer { argmaxAndMax($0) }
    }

    /// The largest |a[i] − b[i]| over the common length.
    public static func maxAbsoluteDifference(_ a: [Float], _ b: UnsafeBufferPointer<Float>) -> Float {
        a.withUnsafeBufferPointer { a in zip(a, b).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) } }
    }

    public static func maxAbsoluteDifference(_ a: [Float], _ b: [Float]) -> Float {
        b.withUnsafeBufferPointer { maxAbsoluteDifference(a, $0) }
    }
}
