import PagedKVCache

/// The element type of stored keys and values: `Float` or `Float16`. The kernel always computes
/// in `Float`; an element only says how eight stored values become eight floats and back.
/// Both conversions are exact for `Float` and F16→F32 is exact for `Float16` (F32→F16 rounds to
/// nearest even), so F16 storage changes only what is stored, never how it is summed.
public protocol KVElement: BitwiseCopyable, Sendable {
    /// The ``PageLayout`` element type this Swift type stores.
    static var kvElementType: KVElementType { get }

    /// Eight consecutive elements at `pointer + index`, as floats (any alignment).
    static func load8(_ pointer: UnsafeRawPointer, at index: Int) -> SIMD8<Float>

    /// Writes eight floats as elements at `pointer + index` (any alignment).
    static func store8(_ values: SIMD8<Float>, to pointer: UnsafeMutableRawPointer, at index: Int)

    /// One float as an element (row tails of ``KVWriter``).
    init(_ value: Float)
}

extension Float: KVElement {
    public static var kvElementType: KVElementType { .f32 }

    @inlinable @inline(__always)
    public static func load8(_ pointer: UnsafeRawPointer, at index: Int) -> SIMD8<Float> {
        pointer.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    public static func store8(_ values: SIMD8<Float>, to pointer: UnsafeMutableRawPointer, at index: Int) {
        pointer.storeBytes(of: values, toByteOffset: index &* 4, as: SIMD8<Float>.self)
    }
}

#if !(os(macOS) && arch(x86_64))  // Float16 does not exist on Intel Macs
extension Float16: KVElement {
    public static var kvElementType: KVElementType { .f16 }

    /// One `vcvtph2ps` with `-march=x86-64-v3` (F16C). Written lane by lane: the stdlib's
    /// `SIMD8<Float>(SIMD8<Float16>)` is a generic lane loop that, inside a large kernel, stays
    /// an out-of-line call; eight scalar conversions are combined by the vectorizer instead.
    @inlinable @inline(__always)
    public static func load8(_ pointer: UnsafeRawPointer, at index: Int) -> SIMD8<Float> {
        let h = pointer.loadUnaligned(fromByteOffset: index &* 2, as: SIMD8<Float16>.self)
        return SIMD8(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }

    @inlinable @inline(__always)
    public static func store8(_ values: SIMD8<Float>, to pointer: UnsafeMutableRawPointer, at index: Int) {
        pointer.storeBytes(of: SIMD8<Float16>(values), toByteOffset: index &* 2, as: SIMD8<Float16>.self)
    }
}
#endif
