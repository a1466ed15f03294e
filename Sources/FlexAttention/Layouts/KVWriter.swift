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
                convert(keys + source, to: Element.self, at: base, offset: keyRow, count: headSize)
                convert(values + source, to: Element.self, at: base, offset: valueRow, count: headSize)
            }
        }
    }

    /// `count` floats as elements at element `offset` of `base` (eight at a time, then one by one).
    @inlinable
    static func convert<Element: KVElement>(
        _ source: UnsafePointer<Float>, to _: Element.Type, at base: UnsafeMutableRawPointer, offset: Int, count: Int
    ) {
        let raw = UnsafeRawPointer(source)
        var i = 0
        while i + 8 <= count {
            Element.store8(Float.load8(raw, at: i), to: base, at: offset + i)
            i += 8
        }
        while i < count {
            base.storeBytes(of: Element(source[i]), toByteOffset: (offset + i) * MemoryLayout<Element>.stride, as: Element.self)
            i += 1
        }
    }
}
