import Testing

@testable import PagedKVCache

/// Forking a sequence whose prompt spans several pages: the child shares the full pages (same
/// ids, one more reference) and gets a copy of the written slots of the partial page only, so
/// its keys and values read exactly the parent's, and nothing past them is copied.
@Suite struct ForkStorageTests {
    /// 2 layers × K/V × 2 heads × 3 floats = 48 B per token, 4 tokens a page.
    static let layout = try! PageLayout(tokensPerPage: 4, layerCount: 2, kvHeadCount: 2, headSize: 3)

    /// Every element of the storage gets a distinct value: its index + 1 (0 means never written).
    static func fill(_ storage: inout PageStorage) {
        storage.withUnsafeMutableBufferPointer(of: Float.self) { elements in
            for index in elements.indices { elements[index] = Float(index + 1) }
        }
    }

    /// The K and V rows of every slot `< tokenCount` of `page`.
    static func rows(_ storage: borrowing PageStorage, page: PageID, tokenCount: Int) -> [Float] {
        storage.withUnsafeBufferPointer(of: Float.self) { elements in
            var out: [Float] = []
            for layer in 0..<layout.layerCount {
                for isValue in [false, true] {
                    for head in 0..<layout.kvHeadCount {
                        for slot in 0..<tokenCount {
                            let o = layout.elementOffset(page: page, layer: layer, isValue: isValue, kvHead: head, tokenInPage: slot)
                            out += elements[o..<o + layout.headSize]
                        }
                    }
                }
            }
            return out
        }
    }

    @Test(arguments: 0...4)
    func copyingPartOfAPageCopiesExactlyThoseSlots(tokenCount: Int) throws {
        var storage = try PageStorage(layout: Self.layout, pageCount: 3)
        storage.withUnsafeMutableBufferPointer(of: Float.self) { elements in
            for index in elements.indices where index < Self.layout.pageStride * 2 { elements[index] = Float(index + 1) }
        }
        storage.copyPage(from: PageID(1), to: PageID(2), tokenCount: tokenCount)
        #expect(Self.rows(storage, page: PageID(2), tokenCount: tokenCount) == Self.rows(storage, page: PageID(1), tokenCount: tokenCount))
        // Slots at and past `tokenCount` stay as they were (zero).
        let all = Self.rows(storage, page: PageID(2), tokenCount: 4)
        let written = Self.rows(storage, page: PageID(2), tokenCount: tokenCount)
        #expect(all.filter { $0 != 0 }.count == written.count)
    }

    @Test func aForkedMultiPagePromptReadsTheParentsKeysAndValues() throws {
        var storage = try PageStorage(layout: Self.layout, pageCount: 8)
        Self.fill(&storage)
        var cache = KVCacheManager(storage: storage, prefixCaching: true, maxTokensPerSequence: 64)
        let parent = seq(1), child = seq(2)
        // 10 tokens: two full pages and 2 slots of a third.
        let hits = cache.startSequence(parent, promptTokens: tokens(1 ... 10))
        #expect(hits == 0)
        cache.markComputed(parent)
        let parentTable = cache.pageTable(of: parent).pages
        #expect(parentTable.count == 3)
        let forked = cache.fork(parent, into: child)
        #expect(forked)
        let childTable = cache.pageTable(of: child).pages
        #expect(Array(childTable.prefix(2)) == Array(parentTable.prefix(2)), "full pages are shared")
        #expect(childTable[2] != parentTable[2], "the partial page is the child's own")
        #expect(cache.tokenCount(of: child) == 10 && cache.computedTokenCount(of: child) == 10)
        cache.withStorage { storage in
            for i in 0..<2 {
                #expect(Self.rows(storage, page: childTable[i], tokenCount: 4) == Self.rows(storage, page: parentTable[i], tokenCount: 4))
            }
            #expect(Self.rows(storage, page: childTable[2], tokenCount: 2) == Self.rows(storage, page: parentTable[2], tokenCount: 2))
            // The free page's slots 2 and 3 kept their own contents: they were not copied.
            #expect(Self.rows(storage, page: childTable[2], tokenCount: 4).suffix(2 * Self.layout.headSize)
                != Self.rows(storage, page: parentTable[2], tokenCount: 4).suffix(2 * Self.layout.headSize))
        }
        // Both write their next token into their own partial page.
        let appended = (cache.append(token: 11, to: parent), cache.append(token: 12, to: child))
        #expect(appended == (true, true))
        #expect(cache.pageTable(of: parent).pages == parentTable && cache.pageTable(of: child).pages == childTable)
        cache.release(parent)
        cache.release(child)
        try cache._checkInvariants()
        let usage = cache.usage
        #expect(usage.sequenceCount == 0)
    }
}
