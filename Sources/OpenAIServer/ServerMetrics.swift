import Engine
import Foundation
import Locking
import Prometheus

/// Every metric the server exports, registered once, here, in one registry (a name registered
/// twice with different types traps in swift-prometheus). Names follow vLLM's, so dashboards
/// built for vLLM read them; what vLLM has no name for is under `pagedflex:`.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    let requestsRunning: Gauge
    let requestsWaiting: Gauge
    let kvCacheUsage: Gauge
    let kvPagesUsed: Gauge
    let kvPagesTotal: Gauge
    let kvPagesEvictable: Gauge
    let kvWasteBytes: Gauge
    let kvWastePercent: Gauge
    let prefixCacheQueries: Counter
    let prefixCacheHits: Counter
    let preemptions: Counter
    let promptTokens: Counter
    let generationTokens: Counter
    let requestSuccess: [String: Counter]
    let requestsRejected: Counter
    let timeToFirstToken: ValueHistogram
    let interTokenLatency: ValueHistogram
    let endToEndLatency: ValueHistogram
    let queueTime: ValueHistogram

    /// Engine counters already added to the Prometheus counters (they only grow).
    private let exported = Locked((queries: 0, hits: 0, preemptions: 0))

    /// The reasons `vllm:request_success_total` counts by.
    static let finishReasons = ["stop", "length", "abort"]

    public init(modelName: String, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let model = [("model_name", modelName)]
        requestsRunning = registry.makeGauge(name: "vllm:num_requests_running", labels: model, help: "Requests running (admitted, holding KV pages).")
        requestsWaiting = registry.makeGauge(name: "vllm:num_requests_waiting", labels: model, help: "Requests waiting for admission.")
        kvCacheUsage = registry.makeGauge(name: "vllm:kv_cache_usage_perc", labels: model, help: "Fraction of KV pages in use (1 = all).")
        kvPagesUsed = registry.makeGauge(name: "pagedflex:kv_pages_used", labels: model, help: "KV pages held by sequences.")
        kvPagesTotal = registry.makeGauge(name: "pagedflex:kv_pages_total", labels: model, help: "KV pages in the budget.")
        kvPagesEvictable = registry.makeGauge(
            name: "pagedflex:kv_pages_cached_evictable", labels: model, help: "Full pages kept by the prefix cache that no sequence holds.")
        kvWasteBytes = registry.makeGauge(name: "pagedflex:kv_waste_bytes", labels: model, help: "KV bytes in use beyond the tokens stored (partial pages).")
        kvWastePercent = registry.makeGauge(name: "pagedflex:kv_waste_perc", labels: model, help: "KV waste as a percentage of KV bytes in use.")
        prefixCacheQueries = registry.makeCounter(
            name: "vllm:prefix_cache_queries_total", labels: model, help: "Prompt tokens looked up in the prefix cache.")
        prefixCacheHits = registry.makeCounter(name: "vllm:prefix_cache_hits_total", labels: model, help: "Prompt tokens served by the prefix cache.")
        preemptions = registry.makeCounter(name: "vllm:num_preemptions_total", labels: model, help: "Sequences preempted (pages taken back).")
        promptTokens = registry.makeCounter(name: "vllm:prompt_tokens_total", labels: model, help: "Prompt tokens of finished requests.")
        generationTokens = registry.makeCounter(name: "vllm:generation_tokens_total", labels: model, help: "Tokens generated.")
        var success: [String: Counter] = [:]
        for reason in Self.finishReasons {
            success[reason] = registry.makeCounter(
                name: "vllm:request_success_total", labels: model + [("finished_reason", reason)],
                help: "Requests finished, by reason (abort: the client went away or the server stopped).")
        }
        requestSuccess = success
        requestsRejected = registry.makeCounter(
            name: "pagedflex:requests_rejected_total", labels: model, help: "Requests answered 429 (load shedding at --max-waiting).")
        let latency: [Double] = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640]
        let gap: [Double] = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80]
        let long: [Double] = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680]
        timeToFirstToken = registry.makeValueHistogram(
            name: "vllm:time_to_first_token_seconds", labels: model, buckets: latency, help: "From arrival to the first token.")
        interTokenLatency = registry.makeValueHistogram(
            name: "vllm:inter_token_latency_seconds", labels: model, buckets: gap, help: "Between two tokens of one sample.")
        endToEndLatency = registry.makeValueHistogram(
            name: "vllm:e2e_request_latency_seconds", labels: model, buckets: long, help: "From arrival to the last token.")
        queueTime = registry.makeValueHistogram(
            name: "vllm:request_queue_time_seconds", labels: model, buckets: long, help: "From arrival to the first step.")
    }

    /// Sets the gauges (and the counters the engine keeps) from the engine's snapshot.
    func update(from usage: EngineUsage, waitingRequests: Int, runningRequests: Int) {
        requestsRunning.set(Double(runningRequests))
        requestsWaiting.set(Double(waitingRequests))
        kvPagesUsed.set(Double(usage.usedPageCount))
        kvPagesTotal.set(Double(usage.pageCount))
        kvPagesEvictable.set(Double(usage.evictablePageCount))
        kvCacheUsage.set(usage.pageCount > 0 ? Double(usage.usedPageCount) / Double(usage.pageCount) : 0)
        kvWasteBytes.set(Double(usage.kvWasteBytes))
        kvWastePercent.set(usage.kvWastePercent)
        exported.withLock { e in
            if usage.prefixCacheQueryTokens > e.queries { prefixCacheQueries.increment(by: Int64(usage.prefixCacheQueryTokens - e.queries)) }
            if usage.prefixCacheHitTokens > e.hits { prefixCacheHits.increment(by: Int64(usage.prefixCacheHitTokens - e.hits)) }
            if usage.preemptions > e.preemptions { preemptions.increment(by: Int64(usage.preemptions - e.preemptions)) }
            e = (max(e.queries, usage.prefixCacheQueryTokens), max(e.hits, usage.prefixCacheHitTokens), max(e.preemptions, usage.preemptions))
        }
    }

    /// Records a request that ended: `reason` is stop, length or abort.
    func finished(reason: String, promptTokens prompt: Int, generatedTokens: Int, e2e: Double, queue: Double?) {
        requestSuccess[reason]?.increment()
        promptTokens.increment(by: Int64(prompt))
        generationTokens.increment(by: Int64(generatedTokens))
        endToEndLatency.record(e2e)
        if let queue { queueTime.record(queue) }
    }

    /// The text format, for `GET /metrics`.
    func text() -> [UInt8] { registry.emitToBuffer() }
}
