import PagedKVCache

/// Writes the keys and values of new tokens into their slots, converting to the layout's element
/// type. The step before attention: a token's row must be in its slot before any query of its
/// step reads it.
public enum KVWriter {
    /// Stores `keys[t]` and `values[t]` (each `[kvHeadCount][headSize]` floats, rows `rowStride`
    /// floats apart) into slot `slots[t]` of `layer`, for every `t`.
    ///
    /// ```
    ///  keys row t ─┬─ kv head 0 [headSize] ──► page slots[t] >> log2 T, layer, K, head 0, row slots[t] mod T
    ///              └─ kv head 1 [headSize] ──► ... head 1 ...
    /// ```
    ///
    /// - Parameters:
    ///   - slots: one slot (`page × tokensPerPage + tokenInPage`) per token.
    ///   - rowStride: floats from one token's keys to the next's; `kvHeadCount × headSize` when
    ///     the rows are packed (the default), larger when keys sit inside a wider row (fused QKV).
    ///   - base: the first byte of the page storage.
    @inlinable
    public static func store(
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rowStride: Int? = nil, slots: some Sequence<Int>,
        layer: Int, layout: PageLayout, base: UnsafeMutableRawPointer
    ) {
        switch layout.elementType {
        case .f32: store(Float.self, keys: keys, values: values, rowStride: rowStride, slots: slots, layer: layer,
                         layout: layout, base: base)
        case .f16: store(Float16.self, keys: keys, values: values, rowStride: rowStride, slots: slots, layer: layer,
                         layout: layout, base: base)
        case .int8: store(Int8.self, keys: keys, values: values, rowStride: rowStride, slots: slots, layer: layer,
                          layout: layout, base: base)
        }
    }

    /// Stores one row of floats as a row of `elementType` at `row` (its first value: the
    /// layout's element offset, in bytes).
    public static func storeRow(_ values: [Float], elementType: KVElementType, to row: UnsafeMutableRawPointer) {
        values.withUnsafeBufferPointer { v in
            switch elementType {
            case .f32: Float.storeRow(v.baseAddress!, count: v.count, to: row)
            case .f16: Float16.storeRow(v.baseAddress!, count: v.count, to: row)
            case .int8: Int8.storeRow(v.baseAddress!, count: v.count, to: row)
            }
        }
    }

    @inlinable
    static func store<Element: KVElement>(
        _: Element.Type, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, rowStride: Int?,
        slots: some Sequence<Int>, layer: Int, layout: PageLayout, base: UnsafeMutableRawPointer
    ) {
        let headSize = layout.headSize
        let stride = rowStride ?? layout.kvHeadCount * headSize
        for (token, slot) in slots.enumerated() {
            for kvHead in 0..<layout.kvHeadCount {
                let source = token * stride + kvHead * headSize
                let keyRow = layout.elementOffset(slot: slot, layer: layer, isValue: false, kvHead: kvHead)
                let valueRow = layout.elementOffset(slot: slot, layer: layer, isValue: true, kvHead: kvHead)
                let bytes = MemoryLayout<Element>.stride
                Element.storeRow(keys + source, count: headSize, to: base + keyRow * bytes)
                Element.storeRow(values + source, count: headSize, to: base + valueRow * bytes)
            }
        }
    }
}
