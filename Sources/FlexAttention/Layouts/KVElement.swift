import Kernels
import PagedKVCache

/// The element type of stored keys and values: `Float`, `Float16` or `Int8` (with a scale per
/// row). The kernel always computes in `Float`; an element only says how eight stored values of
/// a row become eight floats, and how a row of floats is stored. Loading is exact for `Float`
/// and `Float16`; an `Int8` value loads as `Float(q) × scale`, one rounding, the same wherever
/// and however often the row is read. So the storage changes only what is stored, never how it
/// is summed.
public protocol KVElement: BitwiseCopyable, Sendable {
    /// The ``PageLayout`` element type this Swift type stores.
    static var kvElementType: KVElementType { get }

    /// Values `index ..< index + 8` of the row whose first value is at `row`, as floats (any
    /// alignment). `row` is a row's start (``PageLayout/elementOffset(page:layer:isValue:kvHead:tokenInPage:)``):
    /// a scaled element finds its scale before it.
    static func load8(_ row: UnsafeRawPointer, at index: Int) -> SIMD8<Float>

    /// Stores `count` floats as the row whose first value is at `row`, with its
    /// header where the type has one.
    static func storeRow(_ values: UnsafePointer<Float>, count: Int, to row: UnsafeMutableRawPointer)
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

    @inlinable
    public static func storeRow(_ values: UnsafePointer<Float>, count: Int, to row: UnsafeMutableRawPointer) {
        row.copyMemory(from: values, byteCount: count * 4)
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

    /// Rounds to nearest even (`vcvtps2ph`).
    @inlinable
    public static func storeRow(_ values: UnsafePointer<Float>, count: Int, to row: UnsafeMutableRawPointer) {
        let source = UnsafeRawPointer(values)
        var i = 0
        while i &+ 8 <= count {
            row.storeBytes(of: SIMD8<Float16>(Float.load8(source, at: i)), toByteOffset: i &* 2, as: SIMD8<Float16>.self)
            i &+= 8
        }
        while i < count {
            row.storeBytes(of: Float16(values[i]), toByteOffset: i &* 2, as: Float16.self)
            i &+= 1
        }
    }
}
#endif

extension Int8: KVElement {
    public static var kvElementType: KVElementType { .int8 }

    /// The row's scale: the `Float` right before its first value.
    @inlinable @inline(__always)
    public static func scale(ofRow row: UnsafeRawPointer) -> Float {
        row.loadUnaligned(fromByteOffset: -4, as: Float.self)
    }

    /// `Float(q) × scale`: a sign extension, a conversion and a multiply (`vpmovsxbd`,
    /// `vcvtdq2ps`, `vmulps`); lane by lane for the same reason as `Float16`'s.
    @inlinable @inline(__always)
    public static func load8(_ row: UnsafeRawPointer, at index: Int) -> SIMD8<Float> {
        let q = row.loadUnaligned(fromByteOffset: index, as: SIMD8<Int8>.self)
        let wide = SIMD8<Float>(Float(q[0]), Float(q[1]), Float(q[2]), Float(q[3]),
                                Float(q[4]), Float(q[5]), Float(q[6]), Float(q[7]))
        return wide * SIMD8(repeating: scale(ofRow: row))
    }

    /// Symmetric, round to nearest: `scale = max |x| / 127`, `q = round(x / scale)` (computed as
    /// `x × (127 / max |x|)`), so the largest magnitude is exactly ±127 and zero stays zero. A row
    /// of zeros has scale 0. Non-finite inputs are not representable and never trap: an infinite
    /// one makes the row's scale infinite (it reads back as non-finite, as a `Float16` overflow
    /// would), a NaN is stored as 0.
    @inlinable
    public static func storeRow(_ values: UnsafePointer<Float>, count: Int, to row: UnsafeMutableRawPointer) {
        let source = UnsafeRawPointer(values)
        var largest = SIMD8<Float>()
        var i = 0
        while i &+ 8 <= count {
            let x = Float.load8(source, at: i)
            largest = VectorMath.maximum(largest, x.replacing(with: -x, where: x .< 0))
            i &+= 8
        }
        var amax = VectorMath.maximumLane(largest)
        for j in i..<count { amax = Swift.max(amax, abs(values[j])) }
        row.storeBytes(of: amax / 127, toByteOffset: -4, as: Float.self)
        let inverse: Float = amax > 0 ? 127 / amax : 0
        i = 0
        while i &+ 8 <= count {
            var q = (Float.load8(source, at: i) * SIMD8(repeating: inverse)).rounded(.toNearestOrEven)
            q = q.replacing(with: 0, where: .!(q .== q))  // NaN: a conversion would trap
            q = q.clamped(lowerBound: SIMD8(repeating: -127), upperBound: SIMD8(repeating: 127))
            row.storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: SIMD8<Int32>(q)), toByteOffset: i, as: SIMD8<Int8>.self)
            i &+= 8
        }
        while i < count {
            let q = (values[i] * inverse).rounded(.toNearestOrEven)
            row.storeBytes(of: q.isNaN ? 0 : Int8(Swift.min(127, Swift.max(-127, q))), toByteOffset: i, as: Int8.self)
            i &+= 1
        }
    }
}
