import Testing

@testable import PagedKVCache

@Suite struct PageStorageTests {
    @Test func sizedByPageCountOrByteBudgetAlignedAndZeroed() throws {
        let layout = smallLayout()  // 64 B per page
        let storage = try PageStorage(layout: layout, pageCount: 3)
        #expect((storage.pageCount, storage.byteCount) == (3, 192))
        storage.withUnsafeBytes { bytes in
            #expect(Int(bitPattern: bytes.baseAddress) % PageStorage.alignment == 0)
            #expect(bytes.count == 192)
            #expect(bytes.allSatisfy { $0 == 0 })
        }
        let budgeted = try PageStorage(layout: layout, byteBudget: 1000)
        #expect((budgeted.pageCount, budgeted.byteCount) == (15, 960))
    }

    @Test func refusesBudgetsBelowAPageAndEmptyPools() {
        let layout = smallLayout()
        #expect(throws: PageStorageError.budgetBelowOnePage(byteBudget: 63, bytesPerPage: 64)) {
            _ = try PageStorage(layout: layout, byteBudget: 63)
        }
        #expect(throws: PageStorageError.pageCountOutOfRange(0)) { _ = try PageStorage(layout: layout, pageCount: 0) }
        #expect(throws: PageStorageError.pageCountOutOfRange(1 << 32)) { _ = try PageStorage(layout: layout, pageCount: 1 << 32) }
        // 8 GiB pages: 2³¹ of them overflow a 64-bit byte count.
        let huge = try! PageLayout(tokensPerPage: 1 << 20, layerCount: 1024, kvHeadCount: 1, headSize: 1)
        #expect(throws: PageStorageError.byteCountOverflow(pageCount: 1 << 31, bytesPerPage: 1 << 33)) {
            _ = try PageStorage(layout: huge, pageCount: 1 << 31)
        }
    }

    @Test func copyPageCopiesExactlyOnePageAtTheLayoutsOffsets() throws {
        let layout = try PageLayout(tokensPerPage: 2, layerCount: 2, kvHeadCount: 2, headSize: 3)
        var storage = try PageStorage(layout: layout, pageCount: 3)
        storage.withUnsafeMutableBufferPointer(of: Float.self) { elements in
            for index in elements.indices { elements[index] = Float(index) }
        }
        storage.copyPage(from: PageID(2), to: PageID(0))
        storage.withUnsafeBufferPointer(of: Float.self) { elements in
            let stride = layout.pageStride
            #expect(Array(elements[0 ..< stride]) == (2 * stride ..< 3 * stride).map(Float.init))
            #expect(Array(elements[stride ..< 3 * stride]) == (stride ..< 3 * stride).map(Float.init))
            let source = layout.elementOffset(page: PageID(2), layer: 1, isValue: true, kvHead: 1, tokenInPage: 1)
            let copy = layout.elementOffset(page: PageID(0), layer: 1, isValue: true, kvHead: 1, tokenInPage: 1)
            #expect(elements[copy] == elements[source])
        }
    }
}
