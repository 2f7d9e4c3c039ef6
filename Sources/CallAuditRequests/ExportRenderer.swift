import CallAuditDomain
import CallAuditRendering

/// The CSV files and the page for the person, made from `export.json` so
/// they never say something it does not.
enum ExportRenderer {
    static func callsCSV(_ export: JSONValue) -> String {
        CSV.table(
            ["call_id", "started_at", "direction", "channel", "your_role", "jurisdiction", "other_parties", "notices", "consents", "recording_ids"],
            rows(export["calls"]) { call in
                [
                    text(call["call_id"]), text(call["started_at"]), text(call["direction"]), text(call["channel"]), text(call["your_role"]),
                    text(call["jurisdiction"]), list(call["other_parties"]) { text($0["role"]) },
                    list(call["notices"]) { "\(text($0["time"])) \(text($0["method"])) to \(text($0["to"]))" },
                    list(call["consents"]) { "\(text($0["time"])) \(text($0["decision"])) \(text($0["method"]))".trimmingSpaces },
                    list(call["recording_ids"], text),
                ]
            })
    }

    static func recordingsCSV(_ export: JSONValue) -> String {
        CSV.table(
            ["recording_id", "call_id", "stored_at", "exists", "deleted_at", "deletion_reason", "retention_until", "legal_holds"],
            rows(export["recordings"]) { recording in
                [
                    text(recording["recording_id"]), text(recording["call_id"]), text(recording["stored_at"]), text(recording["exists"]),
                    text(recording["deleted_at"]), text(recording["deletion_reason"]), text(recording["retention_until"]),
                    list(recording["legal_holds"]) { text($0["hold_id"]) },
                ]
            })
    }

    static func accessesCSV(_ export: JSONValue) -> String {
        CSV.table(
            ["recording_id", "time", "role", "action", "purpose", "anonymized"],
            rows(export["accesses"]) { use in
                [text(use["recording_id"]), text(use["time"]), text(use["role"]), text(use["action"]), text(use["purpose"]), text(use["anonymized"])]
            })
    }

    static func transfersCSV(_ export: JSONValue) -> String {
        CSV.table(
            ["recording_id", "time", "role", "purpose", "recipient_organization", "recipient_country", "legal_basis"],
            rows(export["transfers"]) { use in
                [
                    text(use["recording_id"]), text(use["time"]), text(use["role"]), text(use["purpose"]), text(use["recipient_organization"]),
                    text(use["recipient_country"]), text(use["legal_basis"]),
                ]
            })
    }

    /// A page the person can read: what is held, who used it and why, how long it is kept, and their rights.
    static func html(_ export: JSONValue) -> String {
        var page = HTMLPage()
        let request = export["request"] ?? .null
        page.raw("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Your data: access request \(HTMLPage.escape(text(request["request_id"])))</title>
            <style>\(style)</style></head><body>
            <header><h1>What we hold about you</h1>
            <p class="meta">Access request <code>\(HTMLPage.escape(text(request["request_id"])))</code> (\(HTMLPage.escape(text(request["regime"])).uppercased()))
             · received \(when(request["received_at"]).html) · answered \(when(export["generated_at"]).html)</p></header>
            """)
        page.table("You were found by", ["Identifier", "Value"], (export["subject"]?.objectValue ?? []).map { [$0.key, text($0.value)] })
        page.raw("<section class=\"cards\">")
        for (label, key) in [("Calls", "calls"), ("Recordings", "recordings"), ("Accesses", "accesses"), ("Transfers", "transfers")] {
            page.raw("<div class=\"card\"><div class=\"value\">\(export[key]?.arrayValue?.count ?? 0)</div><div class=\"label\">\(label)</div></div>")
        }
        page.raw("</section>")
        page.table("Your calls", ["Started", "Call", "Direction", "Channel", "You were", "Others on the call", "Notices", "Your consent"],
            cells: rows(export["calls"]) { call in
                [when(call["started_at"])] + [
                    text(call["call_id"]), text(call["direction"]), text(call["channel"]), text(call["your_role"]),
                    list(call["other_parties"]) { text($0["role"]) }, list(call["notices"]) { "\(text($0["method"])) (\(text($0["to"])))" },
                    list(call["consents"]) { text($0["decision"]) },
                ].map(HTMLCell.text)
            }, empty: "We hold no calls of yours.")
        page.table("Recordings", ["Recording", "Call", "Stored", "Still exists", "Deleted", "Kept until", "Legal holds"],
            cells: rows(export["recordings"]) { recording in
                [
                    .text(text(recording["recording_id"])), .text(text(recording["call_id"])), when(recording["stored_at"]),
                    .text(recording["exists"] == .bool(true) ? "yes" : "no"), when(recording["deleted_at"]), when(recording["retention_until"]),
                    .text(list(recording["legal_holds"]) { text($0["hold_id"]) }),
                ]
            }, empty: "No recordings of your calls.")
        page.table("Who listened to or used them", ["When", "Recording", "Staff role", "Action", "Purpose"],
            cells: rows(export["accesses"]) { use in
                [when(use["time"])] + [text(use["recording_id"]), text(use["role"]), text(use["action"]), text(use["purpose"])].map(HTMLCell.text)
            },
            empty: "Nobody accessed your recordings.")
        page.table("Who they were sent to", ["When", "Recording", "Recipient", "Country", "Legal basis", "Purpose"],
            cells: rows(export["transfers"]) { use in
                [when(use["time"])]
                    + [text(use["recording_id"]), text(use["recipient_organization"]), text(use["recipient_country"]), text(use["legal_basis"]),
                       text(use["purpose"])].map(HTMLCell.text)
            }, empty: "Your recordings were not sent to anyone outside the organisation.")
        page.raw("""
            <section><h2>Why, for how long, and from where</h2>
            <p>Recordings are used for: \(HTMLPage.escape(list(export["purposes"]?["recording"], separator: ", ", text))).</p>
            <p>\(HTMLPage.escape(text(export["retention"]?["recordings"]))). \(HTMLPage.escape(text(export["retention"]?["audit_log"]))).</p>
            <p>Source: \(HTMLPage.escape(text(export["source"]?["collected_from"]))).</p></section>
            <section><h2>Your rights</h2><p>You may ask for what is wrong to be corrected, for your data to be erased or its use
            restricted, and you may object to its use. You may complain to a data-protection supervisory authority.</p></section>
            <footer>The files <code>export.json</code> (described by <code>export.schema.json</code>) and the CSV files hold the same
            information for computers. <code>manifest.json</code> lists every file's SHA-256 and is signed in <code>manifest.sig</code>.</footer>
            </body></html>
            """)
        return page.html
    }

    private static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d2433}
        h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:1.8rem}.meta{color:#5b6475}
        table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e1e5ec}
        th{background:#f3f5f9}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1rem}
        .card{border:1px solid #e1e5ec;border-radius:8px;padding:.6rem 1rem;min-width:7rem}.card .value{font-size:1.5rem;font-weight:600}
        .card .label{color:#5b6475;font-size:.85rem}footer{margin-top:2rem;color:#5b6475;font-size:.85rem}
        """

    private static func rows<Cell>(_ value: JSONValue?, _ row: (JSONValue) -> [Cell]) -> [[Cell]] { (value?.arrayValue ?? []).map(row) }

    /// A date-time cell, shown as people read it with the RFC 3339 value kept (`HTMLPage.time`); other values as they are.
    private static func when(_ value: JSONValue?) -> HTMLCell {
        let value = text(value)
        return .time(value, human: Timestamp(rfc3339: value)?.humanUTC)
    }

    private static func list(_ value: JSONValue?, separator: String = "; ", _ item: (JSONValue) -> String) -> String {
        (value?.arrayValue ?? []).map(item).joined(separator: separator)
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case .bool(let flag)?: flag ? "true" : "false"
        case .number(let number)?: number == number.rounded() ? String(Int64(number)) : String(number)
        default: ""
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
