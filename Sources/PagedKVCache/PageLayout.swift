/// The element type of the keys and values stored in pages.
public enum KVElementType: String, Sendable, Hashable, CaseIterable, Codable {
    case f32
    case f16
    /// Signed bytes with one `Float` scale per row (a row: one token's keys, or values, of one KV
    /// head): element `d` stands for `scale × q[d]`, `scale = max |x| / 127`. The scale is stored
    /// just before the row's bytes (``rowHeaderCount``).
    case int8

    /// Bytes of one element.
    @inlinable public var byteCount: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .int8: 1
        }
    }

    /// Elements each row reserves before its `headSize` values: 4 bytes for the `Float` scale of
    /// an `.int8` row, none otherwise.
    @inlinable public var rowHeaderCount: Int {
        switch self {
        case .f32, .f16: 0
        case .int8: 4
        }
    }
}

/// Why a page geometry was refused.
public enum PageLayoutError: Error, Equatable, CustomStringConvertible {
    case tokensPerPageNotPowerOfTwo(Int)
    case nonPositive(field: String, value: Int)

    public var description: String {
        switch self {
        case .tokensPerPageNotPowerOfTwo(let n):
            "tokens per page must be a power of two between 1 and \(PageLayout.maxTokensPerPage), got \(n)"
        case .nonPositive(let field, let value):
            "\(field) must be positive, got \(value)"
        }
    }
}

/// The single source of page geometry: how many tokens a page holds, for how many layers and KV
/// heads, and where each key and value row sits inside the page.
///
/// A page holds the keys and values of `tokensPerPage` consecutive positions of one sequence, for
/// every layer. Pages are page-major in ``PageStorage`` (page `p` starts at `p * bytesPerPage`),
/// so copying or clearing a page is one contiguous range. Inside a page:
///
/// ```
///  page p ─┬─ layer 0 ─┬─ K ─┬─ kv head 0: token 0 [headSize] … token T-1 [headSize]
///          │           │     ├─ kv head 1: token 0 [headSize] … token T-1 [headSize]
///          │           │     └─ …
///          │           └─ V ─┬─ kv head 0: token 0 [headSize] … token T-1 [headSize]
///          │                 └─ …
///          ├─ layer 1 ─ …
///          └─ layer L-1
///  (T = tokensPerPage; every [headSize] row is contiguous; so is each head's T × rowStride block)
/// ```
///
/// A row is `rowStride` elements: `headSize` values, after `elementType.rowHeaderCount` elements
/// of header (an `.int8` row's scale: `[scale: Float][headSize bytes]`). Offsets point at the
/// values; the header, where there is one, is right before them.
///
/// Attention streams one KV head's `T × headSize` block per page, so the inner loops of the
/// kernel see the same contiguous rows whatever the page size.
public struct PageLayout: Sendable, Hashable, CustomStringConvertible {
    /// The largest page: big enough that the contiguous baseline (one page per sequence, as long
    /// as the context) is the same layout with a single page.
    public static let maxTokensPerPage = 1 << 20

    public let tokensPerPage: Int
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headSize: Int
    public let elementType: KVElementType

    /// log2(tokensPerPage): the slot of a position is `page << tokensPerPageShift | offset`.
    public let tokensPerPageShift: Int

    public init(
        tokensPerPage: Int = 16, layerCount: Int, kvHeadCount: Int, headSize: Int,
        elementType: KVElementType = .f32
    ) throws(PageLayoutError) {
        guard tokensPerPage >= 1, tokensPerPage <= Self.maxTokensPerPage,
            tokensPerPage & (tokensPerPage - 1) == 0
        else { throw .tokensPerPageNotPowerOfTwo(tokensPerPage) }
        guard layerCount > 0 else { throw .nonPositive(field: "layerCount", value: layerCount) }
        guard kvHeadCount > 0 else { throw .nonPositive(field: "kvHeadCount", value: kvHeadCount) }
        guard headSize > 0 else { throw .nonPositive(field: "headSize", value: headSize) }
        self.tokensPerPage = tokensPerPage
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.headSize = headSize
        self.elementType = elementType
        self.tokensPerPageShift = tokensPerPage.trailingZeroBitCount
    }

    // MARK: Strides, in elements

    /// Elements from one row to the next: the head size and the row's header.
    @inlinable public var rowStride: Int { headSize + elementType.rowHeaderCount }
    /// Elements of one KV head's block in one page of one layer: `tokensPerPage × rowStride`.
    @inlinable public var headStride: Int { tokensPerPage * rowStride }
    /// Elements from a page's K block to its V block within one layer.
    @inlinable public var valueStride: Int { kvHeadCount * headStride }
    /// Elements of one layer inside a page (K and V).
    @inlinable public var layerStride: Int { 2 * valueStride }
    /// Elements of one page (all layers, K and V).
    @inlinable public var pageStride: Int { layerCount * layerStride }

    // MARK: Sizes, in bytes

    @inlinable public var bytesPerPage: Int { pageStride * elementType.byteCount }
    /// Bytes the keys and values of one token take across all layers: the unit of the
    /// theoretical minimum that waste is measured against.
    @inlinable public var bytesPerToken: Int { layerCount * 2 * kvHeadCount * rowStride * elementType.byteCount }

    /// The element offset of the key (or value) row of `tokenInPage` for `kvHead` in `layer` of
    /// `page`, from the start of the storage: its first value, after the row's header.
    @inlinable
    public func elementOffset(page: PageID, layer: Int, isValue: Bool, kvHead: Int, tokenInPage: Int) -> Int {
        page.index * pageStride + layer * layerStride + (isValue ? valueStride : 0)
            + kvHead * headStride + tokenInPage * rowStride + elementType.rowHeaderCount
    }

    /// The element offset of the first row of `kvHead`'s block of `layer` in the page at `slot`'s
    /// page, plus the row of that slot: slots are `page × tokensPerPage + tokenInPage`.
    @inlinable
    public func elementOffset(slot: Int, layer: Int, isValue: Bool, kvHead: Int) -> Int {
        elementOffset(
            page: PageID(slot >> tokensPerPageShift), layer: layer, isValue: isValue, kvHead: kvHead,
            tokenInPage: slot & (tokensPerPage - 1))
    }

    public var description: String {
        "PageLayout(\(tokensPerPage) tokens/page, \(layerCount) layers, \(kvHeadCount) KV heads × \(headSize), \(elementType), \(bytesPerPage) B/page)"
    }
}
