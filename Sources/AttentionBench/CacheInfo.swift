#if canImport(Glibc)
import FlexAttention
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The size of the last-level cache, for telling DRAM-bound shapes from cache-resident ones.
enum CacheInfo {
    /// Linux: the largest `index*/size` of cpu0 in sysfs (`266240K`); nil elsewhere.
    static func lastLevelCacheBytes() -> Int? {
        var largest: Int?
        for index in 0..<8 {
            guard let file = fopen("/sys/devices/system/cpu/cpu0/cache/index\(index)/size", "r") else { continue }
            defer { fclose(file) }
            var buffer = [CChar](repeating: 0, count: 64)
            guard fgets(&buffer, Int32(buffer.count), file) != nil else { continue }
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .filter { !$0.isWhitespace }
            let multiplier = text.hasSuffix("K") ? 1 << 10 : text.hasSuffix("M") ? 1 << 20 : 1
            if let value = Int(text.filter(\.isNumber)) { largest = max(largest ?? 0, value * multiplier) }
        }
        return largest
    }
}
