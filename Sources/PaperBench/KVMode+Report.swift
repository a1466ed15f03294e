import Engine

extension KVMode {
    /// The mode as the report's tables and legends name it.
    var label: String {
        switch self {
        case .paged: "paged"
        case .contiguous: "contiguous"
        case .none: "no KV cache"
        }
    }
}
