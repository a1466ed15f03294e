import Engine
import Foundation

/// Polls an engine's published usage and the resident memory at a fixed interval until
/// ``finish()``, from a task of its own, so peaks between token events (a prefill chunk, a queue
/// that fills) are seen too.
struct UsageSampler {
    private let task: Task<[UsageSample], Never>

    init(engine: Engine, start: Double, interval: Double = 0.01) {
        task = Task.detached(priority: .high) {
            var samples: [UsageSample] = []
            while !Task.isCancelled {
                samples.append(UsageSample(engine, since: start))
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
            return samples
        }
    }

    /// Stops polling and returns the samples in time order.
    func finish() async -> [UsageSample] {
        task.cancel()
        return await task.value
    }
}
