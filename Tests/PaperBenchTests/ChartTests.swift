import Foundation
import Testing

@testable import PaperBench

/// The hand-written SVG charts: well-formed XML, axes with ticks where the data is, labels and
/// legends present, and nothing broken by awkward data.
@Suite struct ChartTests {
    @Test func aFigureIsWellFormedAndCarriesItsLabelsAndLegend() throws {
        let figure = ChartFigure(
            title: "Latency <paged> & \"contiguous\"", caption: "one request per point",
            panels: [
                LineChart(
                    title: "TTFT", x: ChartAxis("prompt tokens", scale: .log2), y: ChartAxis("TTFT (s)", scale: .log10),
                    series: [ChartSeries("paged", [(128, 0.9), (256, 1.7), (2048, 14)]), ChartSeries("no KV cache", [(128, 1.0), (2048, 15)])]),
                LineChart(
                    title: "Per token", x: ChartAxis("tokens"), y: ChartAxis("ms"),
                    series: [ChartSeries("paged", [(1, 3), (2, 4)])]),
            ])
        let check = try SVGCheck.parse(Data(figure.svg().utf8))
        #expect(check.root == "svg")
        #expect(check.elementCounts["polyline"] == 3)
        #expect(check.texts.contains("Latency <paged> & \"contiguous\""))
        for label in ["prompt tokens", "TTFT (s)", "tokens", "ms", "paged", "no KV cache", "one request per point"] {
            #expect(check.texts.contains(label), "missing text \(label)")
        }
        // Base-2 ticks name the powers of two, 1024 and up in k.
        for tick in ["128", "256", "512", "1k", "2k"] { #expect(check.texts.contains(tick), "missing tick \(tick)") }
    }

    @Test func emptyAndUndrawableSeriesStillGiveAWellFormedChart() throws {
        let chart = LineChart(
            title: "nothing", x: ChartAxis("x", scale: .log2), y: ChartAxis("y", scale: .log10),
            series: [ChartSeries("empty", []), ChartSeries("non-positive on log axes", [(0, 1), (4, -2), (.nan, 3)])])
        let check = try SVGCheck.parse(Data(ChartFigure(title: "t", panels: [chart]).svg().utf8))
        #expect(check.elementCounts["polyline"] == nil)
        #expect(check.texts.contains("no data"))
        #expect(check.texts.contains("empty (no data)"))
    }

    @Test func linearTicksCoverTheDataWithRoundSteps() {
        let axis = ChartAxis("v")
        let (range, ticks) = axis.layout(low: 3.2, high: 97)
        #expect(range.lowerBound <= 0 && range.upperBound >= 97)
        #expect(ticks.first == 0)
        let steps = Set(zip(ticks.dropFirst(), ticks).map { ($0 - $1).rounded() })
        #expect(steps == [20])
        let flat = ChartAxis("v", includesZero: false).layout(low: 5, high: 5)
        #expect(flat.range.lowerBound < 5 && flat.range.upperBound > 5, "a constant series still gets a range")
    }

    @Test func logTicksArePowers() {
        let (_, two) = ChartAxis("x", scale: .log2).layout(low: 128, high: 2048)
        #expect(two == [128, 256, 512, 1024, 2048])
        let (_, ten) = ChartAxis("y", scale: .log10).layout(low: 0.02, high: 300)
        #expect(zip(ten, [0.01, 0.1, 1, 10, 100, 1000]).allSatisfy { abs($0 / $1 - 1) < 1e-12 } && ten.count == 6)
        let (_, narrow) = ChartAxis("y", scale: .log10).layout(low: 3, high: 40)
        #expect(narrow == [1, 2, 5, 10, 20, 50, 100])
    }

    @Test func tickLabelsAreShort() {
        #expect(ChartAxis.tickLabel(8192) == "8k")
        #expect(ChartAxis.tickLabel(4000) == "4000")
        #expect(ChartAxis.tickLabel(0.25) == "0.25")
        #expect(ChartAxis.tickLabel(12.5) == "12.5")
        #expect(ChartAxis.tickLabel(0.001) == "0.001")
        #expect(ChartAxis.tickLabel(0) == "0")
    }
}
