/// How a model's layers share pages: layers are split into groups of equal size, and each group
/// has its own page table per sequence (all groups draw their pages from one ``PagePool``, so
/// memory moves freely between them). A page holds `layersPerGroup` layers' keys and values.
///
/// A group's layers either attend to every earlier position (a *global* group) or through a
/// causal sliding window of `windowLength` positions. A window group's pages that no future
/// query can see are released while the sequence lives (``KVCacheManager/markComputed(_:)``), so
/// a long sequence holds about a window's worth of pages there.
///
/// ```
///  Gemma 3 270M: 18 layers, l % 6 == 5 global (3 layers), the other 15 through a 512-token window
///  layersPerGroup = gcd(3, 15) = 3:  group 0 = [5, 11, 17] (global)
///                                    group 1 = [0, 1, 2], group 2 = [3, 4, 6], … (window 512)
///  SmolLM2: 30 global layers: one group of all 30 (one page table, nothing released: as before)
/// ```
public struct KVLayerGroups: Sendable, Hashable, CustomStringConvertible {
    /// The model's layers of each group, ascending.
    public let layers: [[Int]]
    /// The sliding window of each group's layers (nil: global attention).
    public let windowLengths: [Int?]
    /// The group of each model layer, and the layer's index inside its group's pages.
    public let groupOfLayer: [Int]
    public let indexInGroup: [Int]

    /// Layers of one page (the same in every group).
    public var layersPerGroup: Int { layers[0].count }
    public var groupCount: Int { layers.count }
    public var layerCount: Int { groupOfLayer.count }
    /// True when some group releases pages (it attends through a window).
    public var hasWindowGroups: Bool { windowLengths.contains { $0 != nil } }

    /// One group of all `layerCount` layers, global: the layout of a model without sliding
    /// windows, and of the contiguous baseline.
    public static func single(layerCount: Int) -> KVLayerGroups {
        KVLayerGroups(layers: [Array(0..<layerCount)], windowLengths: [nil])
    }

    /// Groups for layers `0 ..< layerCount` whose sliding windows are `windowLength(layer)`
    /// (nil: global). Layers with the same window are grouped in ascending order into groups of
    /// the greatest common divisor of the class sizes; global groups come first.
    public init(layerCount: Int, windowLength: (Int) -> Int?) {
        precondition(layerCount > 0, "a model has layers")
        var classes: [Int?: [Int]] = [:]
        var order: [Int?] = []
        for layer in 0..<layerCount {
            let window = windowLength(layer)
            if classes[window] == nil { order.append(window) }
            classes[window, default: []].append(layer)
        }
        order.sort { a, b in a == nil ? b != nil : (b != nil && a! < b!) }
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let size = order.reduce(0) { gcd($0, classes[$1]!.count) }
        var layers: [[Int]] = [], windows: [Int?] = []
        for window in order {
            let members = classes[window]!
            for start in stride(from: 0, to: members.count, by: size) {
                layers.append(Array(members[start..<start + size]))
                windows.append(window)
            }
        }
        self.init(layers: layers, windowLengths: windows)
    }

    /// Groups as given: every group the same size, every layer `0 ..< n` in exactly one.
    public init(layers: [[Int]], windowLengths: [Int?]) {
        precondition(!layers.isEmpty && layers.count == windowLengths.count, "one window per group")
        precondition(layers.allSatisfy { $0.count == layers[0].count && !$0.isEmpty }, "groups of equal size")
        precondition(windowLengths.allSatisfy { ($0 ?? 1) >= 1 }, "a window holds at least one position")
        let count = layers.reduce(0) { $0 + $1.count }
        var groupOfLayer = Array(repeating: -1, count: count), indexInGroup = Array(repeating: -1, count: count)
        for (group, members) in layers.enumerated() {
            for (index, layer) in members.enumerated() {
                precondition(layer >= 0 && layer < count && groupOfLayer[layer] == -1, "layer \(layer) twice or out of range")
                groupOfLayer[layer] = group
                indexInGroup[layer] = index
            }
        }
        self.layers = layers
        self.windowLengths = windowLengths
        self.groupOfLayer = groupOfLayer
        self.indexInGroup = indexInGroup
    }

    public var description: String {
        layers.indices.map { g in "\(layers[g])" + (windowLengths[g].map { " window \($0)" } ?? " global") }
            .joined(separator: ", ")
    }
}
