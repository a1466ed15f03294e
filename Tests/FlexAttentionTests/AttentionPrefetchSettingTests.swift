import FlexAttention
import Kernels
import Testing

/// `PAGEDFLEX_ATTENTION_PREFETCH`: `0` and `1` are honoured; anything else falls back to the
/// machine's default and says why (the commands print it as a warning).
struct AttentionPrefetchSettingTests {
    @Test func zeroAndOneAreHonouredAndTheRestExplained() {
        let standard = AttentionPrefetch.setting(requested: nil)
        #expect(standard.problem == nil)
        #expect(standard.enabled == !Prefetch.burstStallsIssuer)
        #expect(AttentionPrefetch.setting(requested: "") == standard)
        #expect(AttentionPrefetch.setting(requested: "0") == (false, nil))
        #expect(AttentionPrefetch.setting(requested: "1") == (true, nil))
        for bad in ["2", "yes", "on", " 1", "-1"] {
            let setting = AttentionPrefetch.setting(requested: bad)
            #expect(setting.enabled == standard.enabled, "\(bad)")
            #expect(setting.problem?.contains("PAGEDFLEX_ATTENTION_PREFETCH=\(bad)") == true, "\(bad): \(String(describing: setting.problem))")
        }
    }
}
