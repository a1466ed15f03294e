/// One weight encoding as the dot-product kernels see it, a block of 32 at a time:
/// `Σ w·x = scale · Σ q·x + offset · Σ x` over the block, where `q` are the block's values as
/// floats. Plain float types have scale 1 and no offset. Blocks are stored in groups: one block
/// per group for the 32-element types, eight for the K-quants' 256-element super-blocks (whose
/// blocks share the group's header); `block` is the index of a block inside its group. The
/// kernels are generic over this protocol, so each encoding gets its own specialized loop with no
/// per-block dispatch.
public protocol WeightFormat {
    static var bytesPerGroup: Int { get }
    static var blocksPerGroup: Int { get }
    /// Whether blocks carry a scale to multiply the partial dot product by.
    static var isScaled: Bool { get }
    /// Whether blocks carry an offset (then the kernel needs the block sums of `x`).
    static var hasOffset: Bool { get }
    static func quants(_ group: UnsafeRawPointer, _ block: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)
    static func scale(_ group: UnsafeRawPointer, _ block: Int) -> Float
    static func offset(_ group: UnsafeRawPointer, _ block: Int) -> Float
}

extension WeightFormat {
    @inlinable public static var blocksPerGroup: Int { 1 }
    @inlinable @inline(__always) public static func scale(_ group: UnsafeRawPointer, _ block: Int) -> Float { 1 }
    @inlinable @inline(__always) public static func offset(_ group: UnsafeRawPointer, _ block: Int) -> Float { 0 }
}

public enum F32Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 128 }
    @inlinable public static var isScaled: Bool { false }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.values(.f32, b)
    }
}

public enum F16Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 64 }
    @inlinable public static var isScaled: Bool { false }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.values(.f16, b)
    }
}

public enum BF16Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 64 }
    @inlinable public static var isScaled: Bool { false }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.values(.bf16, b)
    }
}

public enum Q8_0Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 34 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.bytes(b + 2)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b) }
}

/// Q4_0: `d·(q − 8)` = `d·q + (−8d)`: a scale and an offset.
public enum Q4_0Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 18 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.nibbles(b + 2)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b) }
    @inlinable @inline(__always) public static func offset(_ b: UnsafeRawPointer, _: Int) -> Float { -8 * BlockDecode.half(b) }
}

public enum Q4_1Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 20 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.nibbles(b + 4)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b) }
    @inlinable @inline(__always) public static func offset(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b + 2) }
}

/// Q5_0: `d·(q − 16)` = `d·q + (−16d)`, q of five bits.
public enum Q5_0Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 22 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.fiveBits(b + 6, (b + 2).loadUnaligned(as: UInt32.self).littleEndian)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b) }
    @inlinable @inline(__always) public static func offset(_ b: UnsafeRawPointer, _: Int) -> Float { -16 * BlockDecode.half(b) }
}

public enum Q5_1Format: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 24 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ b: UnsafeRawPointer, _: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.fiveBits(b + 8, (b + 4).loadUnaligned(as: UInt32.self).littleEndian)
    }
    @inlinable @inline(__always) public static func scale(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b) }
    @inlinable @inline(__always) public static func offset(_ b: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(b + 2) }
}

/// Q4_K: block `j` of a super-block is `(d·scale_j)·q − dmin·min_j`: a scale and an offset per block.
public enum Q4_KFormat: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 144 }
    @inlinable public static var blocksPerGroup: Int { 8 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ g: UnsafeRawPointer, _ j: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.kNibbles(g, j, fifthBit: false)
    }
    @inlinable @inline(__always) public static func scale(_ g: UnsafeRawPointer, _ j: Int) -> Float {
        BlockDecode.half(g) * BlockDecode.kScaleMin(g + 4, j).scale
    }
    @inlinable @inline(__always) public static func offset(_ g: UnsafeRawPointer, _ j: Int) -> Float {
        -(BlockDecode.half(g + 2) * BlockDecode.kScaleMin(g + 4, j).min)
    }
}

public enum Q5_KFormat: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 176 }
    @inlinable public static var blocksPerGroup: Int { 8 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { true }
    @inlinable @inline(__always)
    public static func quants(_ g: UnsafeRawPointer, _ j: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        BlockDecode.kNibbles(g, j, fifthBit: true)
    }
    @inlinable @inline(__always) public static func scale(_ g: UnsafeRawPointer, _ j: Int) -> Float {
        BlockDecode.half(g) * BlockDecode.kScaleMin(g + 4, j).scale
    }
    @inlinable @inline(__always) public static func offset(_ g: UnsafeRawPointer, _ j: Int) -> Float {
        -(BlockDecode.half(g + 2) * BlockDecode.kScaleMin(g + 4, j).min)
    }
}

/// Q6_K: a block's two 16-element halves have their own int8 scale; the kernel's values are
/// `scale·(q − 32)` (exact small integers) and the block's scale is the super-block's `d`.
public enum Q6_KFormat: WeightFormat {
    @inlinable public static var bytesPerGroup: Int { 210 }
    @inlinable public static var blocksPerGroup: Int { 8 }
    @inlinable public static var isScaled: Bool { true }
    @inlinable public static var hasOffset: Bool { false }
    @inlinable @inline(__always)
    public static func quants(_ g: UnsafeRawPointer, _ j: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let (s0, s1) = BlockDecode.q6Scales(g, j)
        let (a, b, c, e) = BlockDecode.q6Values(g, j)
        let v0 = SIMD8<Float>(repeating: s0), v1 = SIMD8<Float>(repeating: s1)
        return (v0 * a, v0 * b, v1 * c, v1 * e)
    }
    @inlinable @inline(__always) public static func scale(_ g: UnsafeRawPointer, _: Int) -> Float { BlockDecode.half(g + 208) }
}
