/// The fixed tile and chunk sizes of the kernel. They are constants, not tuning knobs, because
/// the floating-point result depends on them: every query row walks its keys in tiles of
/// ``kvTileLength`` positions starting at position 0, and sums the tiles of each chunk of
/// ``chunkLength`` positions before merging the chunks in order. Since the boundaries are fixed
/// positions, a row's arithmetic depends only on its own position and keys: not on the page
/// size, the batch it is in, how its prompt was chunked, or which thread ran it.
///
/// ```
///  positions  0 ........ 31 32 ....... 63  ...  96 ....... 127 128 ...... 159 ...
///             └─ KV tile 0 ┘└─ KV tile 1 ┘       └─ KV tile 3 ┘└─ KV tile 4 ┘
///             └──────────────────── chunk 0 ──────────────────┘└── chunk 1 ──── ...
/// ```
public enum AttentionTiling {
    /// Key positions per KV tile: the unit of the online softmax and of ``BlockMask`` columns.
    public static let kvTileLength = 32
    /// Query rows per query tile: the unit of ``BlockMask`` rows and of prefill work.
    public static let queryTileLength = 16
    /// Key positions per chunk: decode splits a context across the cores at these boundaries
    /// and merges the partial softmax states in chunk order. Short, so that a decode step of a
    /// few hundred positions (whose keys come cold from memory after a step's weights went
    /// through the caches) runs on every core; a merge costs one state rescale per chunk.
    public static let chunkLength = 128
    /// KV tiles per chunk.
    public static let tilesPerChunk = chunkLength / kvTileLength

    /// Tiles needed for `count` positions (or rows) of tiles of `length`.
    @inlinable
    public static func tileCount(_ count: Int, length: Int) -> Int { (count + length - 1) / length }
}
