import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses an SVG document as XML and counts its elements by name: a figure a browser can draw
/// is at least well-formed XML with an `svg` root.
final class SVGCheck: NSObject, XMLParserDelegate {
    private(set) var elementCounts: [String: Int] = [:]
    private(set) var root: String?
    private(set) var texts: [String] = []
    private var inText = false

    /// The parse of `data`, or the parser's error.
    static func parse(_ data: Data) throws -> SVGCheck {
        let check = SVGCheck()
        let parser = XMLParser(data: data)
        parser.delegate = check
        guard parser.parse() else {
            throw CheckFailure("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        return check
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if root == nil { root = elementName }
        elementCounts[elementName, default: 0] += 1
        if elementName == "text" {
            inText = true
            texts.append("")
        }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "text" { inText = false }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { texts[texts.count - 1] += string }
    }
}

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
