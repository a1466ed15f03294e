/// One figure of the report: a title and one or more ``LineChart`` panels side by side, written
/// as a standalone SVG document.
public struct ChartFigure: Sendable, Hashable, Codable {
    public var title: String
    public var panels: [LineChart]
    /// A line under the title that says what was measured and how (shown in the image itself, so
    /// the figure stands on its own).
    public var caption: String

    public init(title: String, caption: String = "", panels: [LineChart]) {
        self.title = title
        self.caption = caption
        self.panels = panels
    }

    /// The SVG document (UTF-8 text, no external references).
    public func svg() -> String {
        let header = caption.isEmpty ? 40.0 : 58.0
        let width = max(1, Double(panels.count)) * LineChart.width
        let height = header + (panels.map(\.height).max() ?? 100)
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="Helvetica, Arial, sans-serif">
            <rect x="0" y="0" width="\(fmt(width))" height="\(fmt(height))" fill="#ffffff"/>
            <text x="\(fmt(width / 2))" y="26" font-size="17" text-anchor="middle" font-weight="bold" fill="#111111">\
            \(LineChart.escape(title))</text>

            """
        if !caption.isEmpty {
            out += "<text x=\"\(fmt(width / 2))\" y=\"46\" font-size=\"12\" text-anchor=\"middle\" fill=\"#555555\">\(LineChart.escape(caption))</text>\n"
        }
        for (index, panel) in panels.enumerated() {
            out += panel.render(originX: Double(index) * LineChart.width, originY: header)
        }
        return out + "</svg>\n"
    }
}
