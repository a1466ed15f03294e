/// One weight encoding as the dot-product kernels see it, a block of 32 at a time:
/// `Σ w·x = scale · Σ q·x + offset · Σ x` over the block, where `q` are the block's raw values as
/// floats. Plain float types have scale 1 and no offset. The kernels are generic over this
/// protocol, so each encoding gets its own specialized loop with no per-block dispatch.
public protocol WeightFormat {
    static var bytesPerBlock: Int { get }
    /// Whether blocks carry a scale to multiply the partial dot product by.
    static var isScaled: Bool { get }
    /// Whether blocks carry an offset (then the kernel needs the block sums of `x`).
    static var hasOffset: Bool { get }
    static func quants(_ block: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    static func scale(_ block: UnsafeRawPointer) -> Float
    static func offset(_ block: UnsafeRawPointer) -> Float
}

extension WeightFormat {
    @inlinable @inline(__always) public static func scale(_ block: UnsafeRawPointer) -> Float { 1 }
    @inlinable @inline(__always) public static func offset(_ block: UnsafeRawPointer) -> Float { 0 }
}

public enum F32Format: WeightFormat {
    @inlinable public static var bytesPerBlock: Int { 128 }
    @inlinable public static var isScaled: Bool { false }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.values(.f32, b)
    }
}

public enum F16Format: WeightFormat {
    @inlinable public static var bytesPerBlock: Int { 64 }
    @inlinable public static var isScaled: Bool { false }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.values(.f16, b)
    }
}

public enum BF16Format: WeightFormat {
    @inlinable public static var bytesPerBlock: Int { 64 }
    @inlinable public static var isScaled: Bool { false }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.values(.bf16, b)
    }
}

public enum Q8_0Format: WeightFormat {
    @inlinable public static var bytesPerBlock: Int { 34 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.bytes(b + 2)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer) -> Float { BlockDecode.half(b) }
}

/// Q4_0: `d·(q − 8)` = `d·q + (−8d)`: a scale and an offset.
public enum Q4_0Format: WeightFormat {
    @inlinable public static var bytesPerBlock: Int { 18 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.nibbles(b + 2)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer) -> Float { BlockDecode.half(b) }
    @inlinable @inline(__always) public static func offset(_ b: UnsafeRawPointer) -> Float { -8 * BlockDecode.half(b) }
}

public enum Q4_1Format: WeightFormat {
    @inlinable public static var bytesPerBlock: Int { 20 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.nibbles(b + 4)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer) -> Float { BlockDecode.half(b) }
    @inlinable @inline(__always) public static func offset(_ b: UnsafeRawPointer) -> Float { BlockDecode.half(b + 2) }
}
