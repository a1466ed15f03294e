@testable import PagedKVCache

/// Page ids from their indices: `pages(0, 1, 2) == [p0, p1, p2]`.
func pages(_ indices: Int...) -> [PageID] { indices.map(PageID.init) }

/// A sequence id.
func seq(_ raw: UInt64) -> SequenceID { SequenceID(rawValue: raw) }

/// Token ids `range` as `UInt32`s.
func tokens(_ range: ClosedRange<Int>) -> [UInt32] { range.map(UInt32.init) }

/// A small geometry: 16 B per token (1 layer, K and V, 1 head of 2 f32), `tokensPerPage` tokens a page.
func smallLayout(tokensPerPage: Int = 4) -> PageLayout {
    try! PageLayout(tokensPerPage: tokensPerPage, layerCount: 1, kvHeadCount: 1, headSize: 2)
}
