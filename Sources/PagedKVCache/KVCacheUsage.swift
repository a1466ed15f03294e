/// A snapshot of a ``KVCacheManager``'s memory: pages by state, bytes held, and waste against
/// the theoretical minimum.
///
/// The minimum is the keys and values of every position the used pages hold: ``storedTokenCount``
/// × ``bytesPerToken``. A page shared by several sequences is stored once, so it counts once;
/// ``logicalTokenCount`` counts every sequence's positions separately. Waste is what the used
/// pages hold beyond that minimum: the empty tail of each sequence's partial last page, so at
/// most one page per live sequence.
public struct KVCacheUsage: Sendable, Hashable, CustomStringConvertible {
    public var pageCount: Int
    public var usedPageCount: Int
    public var evictablePageCount: Int
    public var freePageCount: Int
    /// Pages in the prefix cache, referenced or evictable.
    public var cachedPageCount: Int
    public var sequenceCount: Int
    /// Positions with a slot, summed over live sequences (shared positions once per sequence).
    public var logicalTokenCount: Int
    /// Positions whose keys and values the used pages hold (shared pages once; once per layer
    /// group that holds them).
    public var storedTokenCount: Int
    public var bytesPerPage: Int
    public var bytesPerToken: Int
    public var prefixCacheHitPageCount: Int
    public var prefixCacheMissPageCount: Int
    /// Page tables per sequence (``KVLayerGroups``). A page holds one group's layers, so
    /// positions and ``bytesPerToken`` count per group: a position a sequence holds in every
    /// group counts `layerGroupCount` times in ``storedTokenCount``.
    public var layerGroupCount = 1

    /// The stored positions in whole-model tokens' worth: ``storedTokenCount`` / ``layerGroupCount``.
    public var storedModelTokens: Double { Double(storedTokenCount) / Double(layerGroupCount) }

    /// Bytes of the pages referenced by live sequences.
    public var bytesInUse: Int { usedPageCount * bytesPerPage }
    /// Bytes the stored positions need at the least: `storedTokenCount × bytesPerToken`.
    public var minimumBytes: Int { storedTokenCount * bytesPerToken }
    /// Bytes in use that hold no position.
    public var wasteBytes: Int { bytesInUse - minimumBytes }
    /// Waste as a percentage of the bytes in use (0 when nothing is in use).
    public var wastePercent: Double { bytesInUse == 0 ? 0 : 100 * Double(wasteBytes) / Double(bytesInUse) }
    /// Bytes in use over the minimum, in percent: the paper's memory overhead.
    public var overheadPercent: Double {
        minimumBytes == 0 ? 0 : 100 * Double(bytesInUse - minimumBytes) / Double(minimumBytes)
    }
    /// Hits over lookups of prompt pages, in percent (0 before any lookup).
    public var prefixCacheHitPercent: Double {
        let lookups = prefixCacheHitPageCount + prefixCacheMissPageCount
        return lookups == 0 ? 0 : 100 * Double(prefixCacheHitPageCount) / Double(lookups)
    }

    public var description: String {
        "\(sequenceCount) sequences, \(logicalTokenCount) tokens (\(storedTokenCount) stored) in \(usedPageCount) of "
            + "\(pageCount) pages (\(evictablePageCount) evictable, \(freePageCount) free): \(bytesInUse) B in use, "
            + "minimum \(minimumBytes) B, waste \(wasteBytes) B (\(Self.format(wastePercent))%); prefix cache "
            + "\(prefixCacheHitPageCount) hits, \(prefixCacheMissPageCount) misses"
    }

    static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

extension KVCacheManager {
    /// Pages, bytes and waste now, and the prefix cache's record so far.
    /// - Complexity: O(live sequences).
    public var usage: KVCacheUsage {
        var logicalTokenCount = 0
        var emptySlotCount = 0
        for slot in slotOfSequence.values {
            logicalTokenCount += sequences[slot].table.tokenCount
            for table in sequences[slot].tables { emptySlotCount += table.freeTokenCount }
        }
        var usage = KVCacheUsage(
            pageCount: pool.pageCount, usedPageCount: pool.usedPageCount,
            evictablePageCount: pool.evictablePageCount, freePageCount: pool.freePageCount,
            cachedPageCount: pool.cachedPageCount, sequenceCount: slotOfSequence.count,
            logicalTokenCount: logicalTokenCount,
            // Partial pages (the only ones with empty slots) are never shared.
            storedTokenCount: pool.usedPageCount * layout.tokensPerPage - emptySlotCount,
            bytesPerPage: layout.bytesPerPage, bytesPerToken: layout.bytesPerToken,
            prefixCacheHitPageCount: prefixCacheHitPageCount, prefixCacheMissPageCount: prefixCacheMissPageCount)
        usage.layerGroupCount = layerGroups.groupCount
        return usage
    }
}
