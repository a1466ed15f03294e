import Foundation

extension LineChart {
    /// Colour-blind-safe colours (Okabe and Ito), one per series in order.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"]
    /// Dash patterns, so lines stay apart in grey scale too.
    static let dashes = ["", "7 4", "2 3", "9 3 2 3", "4 2", "12 4"]

    /// The panel as SVG elements, its top-left corner at (`originX`, `originY`).
    func render(originX: Double, originY: Double) -> String {
        let points = drawablePoints
        let all = points.joined()
        var out = "<g transform=\"translate(\(fmt(originX)),\(fmt(originY)))\">\n"
        out += text(Self.width / 2, 22, title, size: 14, anchor: "middle", weight: "bold")
        let left = Self.plotLeft, top = Self.plotTop
        let plotWidth = Self.width - Self.plotLeft - Self.plotRight, plotHeight = Self.plotHeight
        let bottom = top + plotHeight, right = left + plotWidth
        out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(plotHeight))\" fill=\"#ffffff\" stroke=\"#444444\"/>\n"
        if all.isEmpty {
            out += text(left + plotWidth / 2, top + plotHeight / 2, "no data", size: 13, anchor: "middle", color: "#888888")
        } else {
            let (xRange, xTicks) = x.layout(low: all.map(\.x).min()!, high: all.map(\.x).max()!)
            let (yRange, yTicks) = y.layout(low: all.map(\.y).min()!, high: all.map(\.y).max()!)
            func px(_ v: Double) -> Double {
                left + (x.transform(v) - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * plotWidth
            }
            func py(_ v: Double) -> Double {
                bottom - (y.transform(v) - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * plotHeight
            }
            for tick in xTicks {
                let p = px(tick)
                guard p >= left - 0.5, p <= right + 0.5 else { continue }
                out += line(p, top, p, bottom, color: "#e4e4e4")
                out += line(p, bottom, p, bottom + 5, color: "#444444")
                out += text(p, bottom + 18, ChartAxis.tickLabel(tick), size: 11, anchor: "middle")
            }
            for tick in yTicks {
                let p = py(tick)
                guard p >= top - 0.5, p <= bottom + 0.5 else { continue }
                out += line(left, p, right, p, color: "#e4e4e4")
                out += line(left - 5, p, left, p, color: "#444444")
                out += text(left - 8, p + 4, ChartAxis.tickLabel(tick), size: 11, anchor: "end")
            }
            for (index, series) in points.enumerated() where !series.isEmpty {
                let color = Self.palette[index % Self.palette.count], dash = Self.dashes[index % Self.dashes.count]
                let path = series.map { "\(fmt(px($0.x))),\(fmt(py($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\""
                    + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + "/>\n"
                // Markers only where they stay apart; a long series reads as a line.
                if series.count <= 40 {
                    for point in series { out += marker(index, px(point.x), py(point.y), color: color) }
                }
            }
        }
        out += text(left + plotWidth / 2, bottom + 38, x.label, size: 12, anchor: "middle")
        let yMid = top + plotHeight / 2
        out += "<text x=\"16\" y=\"\(fmt(yMid))\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(fmt(yMid)))\">\(Self.escape(y.label))</text>\n"
        for (index, series) in series.enumerated() {
            let rowY = bottom + 58 + Double(index) * Self.legendRowHeight
            let color = Self.palette[index % Self.palette.count], dash = Self.dashes[index % Self.dashes.count]
            out += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(rowY))\" x2=\"\(fmt(left + 34))\" y2=\"\(fmt(rowY))\" stroke=\"\(color)\" stroke-width=\"2\""
                + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + "/>\n"
            out += marker(index, left + 17, rowY, color: color)
            let empty = points[index].isEmpty ? " (no data)" : ""
            out += text(left + 42, rowY + 4, series.name + empty, size: 12, anchor: "start")
        }
        return out + "</g>\n"
    }

    /// A small marker, its shape chosen by the series index.
    private func marker(_ index: Int, _ x: Double, _ y: Double, color: String) -> String {
        switch index % 4 {
        case 0:
            return "<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"3.5\" fill=\"\(color)\"/>\n"
        case 1:
            return "<rect x=\"\(fmt(x - 3.5))\" y=\"\(fmt(y - 3.5))\" width=\"7\" height=\"7\" fill=\"\(color)\"/>\n"
        case 2:
            return "<polygon points=\"\(fmt(x)),\(fmt(y - 4.5)) \(fmt(x + 4.5)),\(fmt(y + 3.5)) \(fmt(x - 4.5)),\(fmt(y + 3.5))\" fill=\"\(color)\"/>\n"
        default:
            return "<polygon points=\"\(fmt(x)),\(fmt(y - 4.5)) \(fmt(x + 4.5)),\(fmt(y)) \(fmt(x)),\(fmt(y + 4.5)) \(fmt(x - 4.5)),\(fmt(y))\" fill=\"\(color)\"/>\n"
        }
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String) -> String {
        "<line x1=\"\(fmt(x1))\" y1=\"\(fmt(y1))\" x2=\"\(fmt(x2))\" y2=\"\(fmt(y2))\" stroke=\"\(color)\" stroke-width=\"1\"/>\n"
    }

    private func text(
        _ x: Double, _ y: Double, _ content: String, size: Int, anchor: String, weight: String = "normal",
        color: String = "#222222"
    ) -> String {
        "<text x=\"\(fmt(x))\" y=\"\(fmt(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" fill=\"\(color)\">\(Self.escape(content))</text>\n"
    }

    /// `text` with the five XML special characters escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// A coordinate with one decimal: enough for a screen, short in the file.
func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
