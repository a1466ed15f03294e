import PagedKVCache
import Scheduler

extension Engine {
    /// After a step: what each request in `batch` holds now (pages counted once across its
    /// samples, those it shares, the empty slots of its partial pages), kept at its peak.
    func account(_ batch: ScheduledBatch) {
        var seen: Set<UInt64> = []
        for entry in batch.entries {
            guard let owner = samples[entry.id], seen.insert(owner.requestID).inserted,
                let request = requests[owner.requestID]
            else { continue }
            var pages = 0, shared = 0, emptySlots = 0
            if request.liveSamples.count == 1 {
                guard scheduler.cache.contains(entry.id) else { continue }
                let u = scheduler.cache.sequenceUsage(of: entry.id, reusedLeadingPageCount: reusedPages(entry.id))
                (pages, shared, emptySlots) = (u.pageCount, u.sharedPageCount, u.emptySlotCount)
            } else {
                // Samples forked from one prompt share its full pages: count each page once.
                var distinct: Set<PageID> = []
                var sharedWithin: Set<PageID> = []
                for seq in request.liveSamples where scheduler.cache.contains(seq) {
                    emptySlots += scheduler.cache.sequenceUsage(of: seq).emptySlotCount
                    for page in scheduler.cache.heldPages(of: seq) where !distinct.insert(page).inserted {
                        sharedWithin.insert(page)
                    }
                    shared = max(shared, scheduler.cache.sequenceUsage(of: seq, reusedLeadingPageCount: reusedPages(seq)).sharedPageCount)
                }
                pages = distinct.count
                shared = max(shared, sharedWithin.count)
            }
            request.accounting.peakPageCount = max(request.accounting.peakPageCount, pages)
            request.accounting.peakSharedPageCount = max(request.accounting.peakSharedPageCount, shared)
            request.accounting.peakKVBytes = request.accounting.peakPageCount * pageLayout.bytesPerPage
            request.accounting.partialPageWasteBytes = emptySlots * pageLayout.bytesPerToken
        }
    }

    /// The leading pages of `seq` that came from the prefix cache.
    private func reusedPages(_ seq: SequenceID) -> Int {
        (samples[seq]?.cachedPromptTokens ?? 0) / pageLayout.tokensPerPage
    }

    func publishUsage() {
        let u = scheduler.cache.usage
        if (u.bytesInUse, u.minimumBytes) > (peakKV.bytes, peakKV.minimum) { peakKV = (u.bytesInUse, u.minimumBytes) }
        var snapshot = EngineUsage(
            runningSequences: scheduler.running.count, waitingSequences: scheduler.waiting.count,
            kvMode: configuration.kvMode, tokensPerPage: pageLayout.tokensPerPage, pageCount: u.pageCount,
            usedPageCount: u.usedPageCount, kvBytesInUse: u.bytesInUse, kvMinimumBytes: u.minimumBytes,
            kvWasteBytes: u.wasteBytes, kvWastePercent: u.wastePercent,
            prefixCacheHits: u.prefixCacheHitPageCount, prefixCacheMisses: u.prefixCacheMissPageCount,
            prefixCacheHitPercent: u.prefixCacheHitPercent, preemptions: scheduler.preemptionCount,
            peakKVBytesInUse: peakKV.bytes, peakKVMinimumBytes: peakKV.minimum, generatedTokens: generatedTokenCount,
            tokensPerSecond: busyTime > 0 ? Double(generatedTokenCount) / busyTime : 0)
        snapshot.evictablePageCount = u.evictablePageCount
        snapshot.prefixCacheQueryTokens = prefixCacheQueryTokens
        snapshot.prefixCacheHitTokens = prefixCacheHitTokens
        snapshot.forwardProfile = state.profile
        publishedUsage.withLock { $0 = snapshot }
    }
}
