/// The bounds every GGUF file must keep, in one place. A model file comes from anywhere, so
/// each count, length and depth read from it is checked against these before anything is
/// allocated or computed from it, and every size derived from them uses checked arithmetic.
///
/// The limits are far above any real model (SmolLM2-135M: 49,152 tokens, 48,900 merges,
/// 272 tensors, 37 metadata keys, a 0.8 KB chat template) and low enough that no product of
/// them overflows an `Int`.
public enum GGUFLimits {
    /// Metadata key–value pairs per file.
    public static let metadataCount = 1 << 16
    /// Tensors per file.
    public static let tensorCount = 1 << 20
    /// Bytes of one string (a key, a tensor name, a value such as a chat template).
    public static let stringByteCount = 1 << 24
    /// Elements of one metadata array (a vocabulary, a merge list).
    public static let arrayElementCount = 1 << 24
    /// Arrays inside arrays: an array of scalars has depth 1.
    public static let arrayDepth = 4
    /// Dimensions per tensor (ggml's GGML_MAX_DIMS).
    public static let dimensionCount = 4
    /// Elements of one tensor dimension, and of one tensor (2^48: 256 TiB of F32).
    public static let elementCount = 1 << 48
}
