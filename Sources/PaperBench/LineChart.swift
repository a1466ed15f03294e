/// A line chart: labelled axes, several series, a legend; one panel of a ``ChartFigure``.
///
/// Written by hand as SVG (``render(originX:originY:)``) so the report needs no plotting
/// package: the figures must be readable without the text, so every chart names what it shows
/// in its title and axis labels, and every line is told apart by colour, dash and marker (the
/// figure survives a grey-scale printer).
public struct LineChart: Sendable, Hashable, Codable {
    public var title: String
    public var x: ChartAxis
    public var y: ChartAxis
    public var series: [ChartSeries]

    public init(title: String, x: ChartAxis, y: ChartAxis, series: [ChartSeries]) {
        self.title = title
        self.x = x
        self.y = y
        self.series = series
    }

    /// Size of one panel in SVG user units (pixels).
    static let width = 460.0
    static let plotTop = 44.0
    static let plotLeft = 72.0
    static let plotRight = 24.0
    static let plotHeight = 250.0
    static let legendRowHeight = 18.0

    /// The panel's height: the plot, the x axis, and one legend row per series.
    var height: Double {
        Self.plotTop + Self.plotHeight + 52 + Double(max(series.count, 1)) * Self.legendRowHeight + 8
    }

    /// The drawable points of each series (non-finite values and, on log axes, non-positive ones
    /// are left out).
    var drawablePoints: [[ChartSeries.Point]] {
        series.map { $0.points.filter { x.accepts($0.x) && y.accepts($0.y) } }
    }
}
