/// An HTML page being written: text is escaped unless written `raw`.
package struct HTMLPage {
    package var html = ""

    package init() {}

    package mutating func raw(_ text: String) { html += text }

    package mutating func table(_ title: String, _ columns: [String], _ rows: [[String]], empty: String = "None.") {
        table(title, columns, cells: rows.map { $0.map(HTMLCell.text) }, empty: empty)
    }

    package mutating func table(_ title: String, _ columns: [String], cells rows: [[HTMLCell]], empty: String = "None.") {
        html += "<section><h2>\(Self.escape(title))</h2>"
        guard !rows.isEmpty else {
            html += "<p class=\"meta\">\(Self.escape(empty))</p></section>"
            return
        }
        html += "<table><thead><tr>" + columns.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for row in rows { html += "<tr>" + row.map { "<td>\($0.html)</td>" }.joined() + "</tr>" }
        html += "</tbody></table></section>"
    }

    /// A time for people (`human`, e.g. "23 Nov 2026, 02:03 UTC") that keeps the exact RFC 3339 value
    /// for programs (`datetime`) and for anyone who hovers over it (`title`).
    package static func time(_ rfc3339: String, human: String) -> String {
        "<time datetime=\"\(escape(rfc3339))\" title=\"\(escape(rfc3339))\">\(escape(human))</time>"
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

/// A table cell: text, escaped; or a time, shown as people read it (`HTMLPage.time`).
package enum HTMLCell: Sendable, Equatable {
    case text(String)
    /// `human` nil: the value is not a date-time after all, and shows as it is.
    case time(String, human: String?)

    package var html: String {
        switch self {
        case .text(let text), .time(let text, human: nil): HTMLPage.escape(text)
        case .time(let text, human: let human?): HTMLPage.time(text, human: human)
        }
    }
}
