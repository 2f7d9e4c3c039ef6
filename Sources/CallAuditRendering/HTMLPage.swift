/// An HTML page being written: text is escaped unless written `raw`.
package struct HTMLPage {
    package var html = ""

    package init() {}

    package mutating func raw(_ text: String) { html += text }

    package mutating func table(_ title: String, _ columns: [String], _ rows: [[String]], empty: String = "None.") {
        html += "<section><h2>\(Self.escape(title))</h2>"
        guard !rows.isEmpty else {
            html += "<p class=\"meta\">\(Self.escape(empty))</p></section>"
            return
        }
        html += "<table><thead><tr>" + columns.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows { html += "<tr>" + row.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>" }
        html += "</tbody></table></section>"
    }

    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
