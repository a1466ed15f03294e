/// A table of one experiment's figures: written as CSV (for other tools) and as a Markdown table
/// (for the report), from the same rows so the two never disagree.
public struct DataTable: Sendable, Hashable, Codable {
    public var header: [String]
    public var rows: [[String]]

    public init(header: [String], rows: [[String]] = []) {
        self.header = header
        self.rows = rows
    }

    /// RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled.
    public func csv() -> String {
        func field(_ text: String) -> String {
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return ([header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    /// A GitHub-flavoured Markdown table; the first column left-aligned, the others (numbers)
    /// right-aligned.
    public func markdown() -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var out = "| " + header.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { $0 == 0 ? " --- |" : " ---: |" }.joined() + "\n"
        for row in rows {
            let padded = row + Array(repeating: "", count: max(0, header.count - row.count))
            out += "| " + padded.map(cell).joined(separator: " | ") + " |\n"
        }
        return out
    }
}
