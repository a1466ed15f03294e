/// One line of a ``LineChart``: a name for the legend and its points in drawing order.
public struct ChartSeries: Sendable, Hashable, Codable {
    public struct Point: Sendable, Hashable, Codable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public var name: String
    public var points: [Point]

    public init(_ name: String, points: [Point]) {
        self.name = name
        self.points = points
    }

    /// A series from `(x, y)` pairs.
    public init(_ name: String, _ pairs: [(Double, Double)]) {
        self.init(name, points: pairs.map { Point(x: $0.0, y: $0.1) })
    }
}
