@testable import Engine
import Testing

/// `PAGEDFLEX_KV_PREFETCH`: a whole number of bytes (0 for none) is honoured; anything else falls
/// back to the machine's default and says why (the commands print it as a warning).
struct KVPrefetchSettingTests {
    @Test func wholeBytesAreHonouredAndTheRestExplained() {
        let standard = PagedKVStore.prefetchSetting(requested: nil)
        #expect(standard.problem == nil)
        #expect(PagedKVStore.prefetchSetting(requested: "").bytes == standard.bytes)
        for (text, bytes) in [("0", 0), ("65536", 65536), ("786432", 786_432)] {
            let setting = PagedKVStore.prefetchSetting(requested: text)
            #expect(setting.bytes == bytes && setting.problem == nil, "\(text)")
        }
        for bad in ["-1", "64K", "lots", "1e6", " 4096"] {
            let setting = PagedKVStore.prefetchSetting(requested: bad)
            #expect(setting.bytes == standard.bytes, "\(bad)")
            #expect(setting.problem?.contains("PAGEDFLEX_KV_PREFETCH=\(bad)") == true, "\(bad): \(String(describing: setting.problem))")
        }
    }
}
