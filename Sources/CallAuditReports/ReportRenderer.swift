import CallAuditDomain
import CallAuditQueries
import CallAuditRendering
import CallAuditSigning
import Foundation

/// The CSV and HTML forms of a report, made from its signed JSON so the three never disagree.
package enum ReportRenderer {
    /// The findings, one row each, with the columns of `callaudit findings --format csv`.
    package static func csv(_ body: [UInt8]) throws -> [UInt8] { csv(try ReportDocument(decoding: body)) }

    package static func csv(_ report: ReportDocument) -> [UInt8] {
        var rows = report.findings.map { $0.values.map { $0 ?? "" } }
        // Gaps in the evidence as rows of their own, so a spreadsheet of the findings cannot lose them.
        rows += (report.gapsInEvidence ?? []).map { gap in
            FindingRow.columns.map { column -> String in
                switch column {
                case "occurred_at": gap.acceptedAt
                case "rule": "EVIDENCE_GAP"
                case "severity": "high"
                case "status": "accepted"
                case "evidence": gap.eventID
                case "detail": gapSentence(gap)
                default: ""
                }
            }
        }
        return Array(CSV.table(FindingRow.columns, rows).utf8)
    }

    /// One gap in words: where, how many offsets, why, who accepted it.
    static func gapSentence(_ gap: ReportDocument.EvidenceGap) -> String {
        let why = gap.kind == "below_low_watermark"
            ? "Kafka's retention removed them before CallAudit read them" : "the stored position was past the partition's end (topic recreated)"
        return "\(gap.topic)[\(gap.partition)] offsets \(gap.lostFromOffset) to \(gap.lostToOffset) (exclusive): "
            + "\(gap.lostMessages) message(s) never ingested; \(why); accepted by \(gap.acceptedBy.name) (\(gap.acceptedBy.role)) "
            + "at \(gap.acceptedAt): \(gap.reason)"
    }

    /// A page for people: the summary, a per-day compliance chart as inline
    /// SVG, the findings, the access review and retention. It loads nothing
    /// from elsewhere (its Content-Security-Policy forbids it); a few lines of
    /// inline script only mark on the page that the chart was laid out.
    package static func html(_ body: [UInt8], signature: DetachedSignature, sha256: String) throws -> String {
        html(try ReportDocument(decoding: body), signature: signature, sha256: sha256)
    }

    package static func html(_ report: ReportDocument, signature: DetachedSignature, sha256: String) -> String {
        let summary = report.summary
        var page = HTMLPage()
        let id = escape(report.reportID)
        let status = escape(report.status.rawValue)
        page.raw("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>CallAudit report \(id) v\(report.version)</title>
            <style>\(style)</style></head><body>
            """)
        page.raw("<header><h1>Compliance report <code>\(id)</code></h1>")
        page.raw("<p class=\"meta\">\(when(report.period.from).html) → \(when(report.period.to).html) (\(escape(report.period.timeZone)))")
        page.raw(" · version \(report.version) · <span class=\"status-\(status)\">\(status)</span>")
        page.raw(" · generated \(when(report.generatedAt).html)</p>")
        page.raw("<p class=\"meta\">Policy \(escape(report.policy.version)) (sha256 <code>\(escape(String(report.policy.hash.prefix(16))))…</code>)")
        page.raw(" · log through \(escape(report.eventStore.through))")
        page.raw(" · signed by key <code>\(escape(signature.keyID))</code> over JSON sha256 <code>\(escape(String(sha256.prefix(16))))…</code></p></header>")

        // Before anything else the page says whether the evidence itself is incomplete.
        let gaps = report.gapsInEvidence ?? []
        if !gaps.isEmpty {
            page.raw("<p class=\"gaps\" id=\"gaps-banner\">The evidence has \(gaps.count) gap(s): messages CallAudit never received. Findings and counts below cannot include them.</p>")
        }
        page.table(
            "Gaps in the evidence", ["partition", "lost offsets", "messages", "kind", "window from", "accepted", "by", "reason"],
            cells: gaps.map {
                [.text("\($0.topic)[\($0.partition)]"), .text("\($0.lostFromOffset)–\($0.lostToOffset)"), .text(String($0.lostMessages)), .text($0.kind),
                 when($0.since ?? ""), when($0.acceptedAt), .text("\($0.acceptedBy.name) (\($0.acceptedBy.role))"), .text($0.reason)]
            },
            empty: "None recorded.")

        page.raw("<section class=\"cards\">")
        for (label, value) in [
            ("Calls", summary.calls), ("Recorded", summary.recordedCalls), ("Findings", summary.findings), ("Open holds", summary.openHolds),
            ("Deletions on time", summary.deletions.onTime), ("Deletions late", summary.deletions.late),
            ("Requests received", summary.subjectRequests.received), ("Requests overdue", summary.subjectRequests.overdue),
        ] {
            page.raw("<div class=\"card\"><div class=\"value\">\(value)</div><div class=\"label\">\(label)</div></div>")
        }
        page.raw("</section>")

        page.raw("<section><h2>Compliance per day</h2>")
        page.raw(chart(report.daily))
        page.raw("</section>")

        page.table(
            "Compliance by regime", ["regime", "recorded calls", "compliant", "rate"],
            summary.complianceByRegime.map { [$0.regime, String($0.recordedCalls), String($0.compliantCalls), percent($0.complianceRate)] })
        page.table(
            "Findings", ["occurred", "rule", "severity", "call", "recording", "party", "request", "citation", "detail"],
            cells: report.findings.map {
                [when($0.occurredAt)] + [$0.rule, $0.severity, $0.callID ?? "", $0.recordingID ?? "", $0.partyID ?? "", $0.requestID ?? "", $0.citation,
                 $0.detail].map(HTMLCell.text)
            })
        page.table(
            "Access review", ["actor", "role", "role allowed", "accesses", "shares", "recordings", "purposes", "flagged"],
            report.accessReview.map {
                [$0.actorID, $0.role, $0.roleAllowed ? "yes" : "no", String($0.accesses), String($0.shares), String($0.recordings),
                 $0.purposes.joined(separator: ", "), String($0.flagged)]
            })
        let retention = report.retention
        page.table(
            "Retention (\(retention.retentionDays) days)", ["due in period", "deleted on time", "deleted late", "not deleted", "held at due"],
            [[String(retention.dueInPeriod), String(retention.deletedOnTime), String(retention.deletedLate), String(retention.notDeleted),
              String(retention.heldAtDue)]])
        page.table("Deletions", ["reason", "method", "count"], retention.deletions.map { [$0.reason, $0.method, String($0.count)] })
        if let changes = report.changes {
            page.table(
                "Changes since version \(changes.previousVersion)", ["change", "rule", "occurred", "finding"],
                cells: [("raised", changes.raised), ("withdrawn", changes.withdrawn), ("changed", changes.changed)].flatMap { kind, entries in
                    entries.map { [.text(kind), .text($0.rule), when($0.occurredAt), .text($0.findingKey)] }
                })
        }
        page.raw("""
            <footer>The signed original is the JSON form of this report; this page is made from it.</footer>
            <script>
            (function () {
              var chart = document.getElementById('daily-chart');
              var bars = chart ? chart.querySelectorAll('rect.bar').length : 0;
              var box = chart && chart.getBBox ? chart.getBBox() : { width: 0 };
              document.body.setAttribute('data-chart-drawn', bars > 0 && box.width > 0 ? 'yes' : 'no');
            })();
            </script></body></html>
            """)
        return page.html
    }

    /// Bars of recorded calls per day, the compliant share of each in a darker
    /// shade, and the compliance rate as dots on a 0–100 % scale at the right.
    private static func chart(_ days: [ReportDocument.Day]) -> String {
        let width = 760.0, height = 230.0, left = 44.0, right = 40.0, top = 14.0, bottom = 30.0
        let plot = height - bottom - top
        let maxCalls = Double(max(days.map(\.recordedCalls).max() ?? 0, 1))
        let step = (width - left - right) / Double(max(days.count, 1))
        let barWidth = min(max(step * 0.7, 1), 48)
        var svg = "<svg id=\"daily-chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Recorded and compliant calls per day\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - right)\" y2=\"\(height - bottom)\" class=\"axis\"/>"
        svg += "<text x=\"0\" y=\"\(top + 4)\" class=\"tick\">\(Int(maxCalls))</text><text x=\"0\" y=\"\(height - bottom)\" class=\"tick\">0</text>"
        svg += "<text x=\(q(width - right + 4)) y=\"\(top + 4)\" class=\"tick\">100 %</text><text x=\(q(width - right + 4)) y=\"\(height - bottom)\" class=\"tick\">0 %</text>"
        var points: [String] = []
        for (index, day) in days.enumerated() {
            let (recorded, compliant) = (Double(day.recordedCalls), Double(day.compliantCalls))
            let center = left + (Double(index) + 0.5) * step
            let x = center - barWidth / 2
            let full = plot * recorded / maxCalls
            let good = plot * compliant / maxCalls
            let label = escape(day.day)
            // A day without calls still gets a sliver, so every day of the period is visible.
            svg += "<rect class=\"bar recorded\" x=\(q(x)) y=\(q(height - bottom - max(full, 1))) width=\(q(barWidth)) height=\(q(max(full, 1)))><title>\(label): \(day.recordedCalls) recorded</title></rect>"
            svg += "<rect class=\"bar compliant\" x=\(q(x)) y=\(q(height - bottom - good)) width=\(q(barWidth)) height=\(q(good))><title>\(label): \(day.compliantCalls) compliant</title></rect>"
            if let rate = day.complianceRate {
                let y = height - bottom - plot * rate
                points.append("\(q(center, quoted: false)),\(q(y, quoted: false))")
                svg += "<circle class=\"rate\" cx=\(q(center)) cy=\(q(y)) r=\"3\"><title>\(label): \(percent(rate))</title></circle>"
            }
            if days.count <= 31 {
                svg += "<text class=\"tick\" x=\(q(center - 12)) y=\(q(height - 10))>\(escape(String(day.day.suffix(5))))</text>"
            }
        }
        if points.count > 1 { svg += "<polyline class=\"rate\" points=\"\(points.joined(separator: " "))\"/>" }
        return svg + "</svg><p class=\"legend\"><span class=\"key recorded\"></span> recorded calls <span class=\"key compliant\"></span> compliant calls "
            + "<span class=\"key rate\"></span> compliance rate (right scale)</p>"
    }

    private static func q(_ value: Double, quoted: Bool = true) -> String {
        let text = String(format: "%.1f", value)
        return quoted ? "\"\(text)\"" : text
    }

    private static func percent(_ rate: Double?) -> String {
        guard let rate else { return "–" }
        return String(format: "%.1f %%", rate * 100)
    }

    static func escape(_ text: String) -> String { HTMLPage.escape(text) }

    /// A date-time cell, shown as people read it with the RFC 3339 value kept (`HTMLPage.time`); other text as it is.
    static func when(_ text: String) -> HTMLCell { .time(text, human: Timestamp(rfc3339: text)?.humanUTC) }

    private static let style = """
        body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fff}
        h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
        .meta{color:#555;margin:.15rem 0}code{font-size:.92em}
        .status-final{color:#0a6b2b;font-weight:600}.status-provisional{color:#a05a00;font-weight:600}
        .cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
        .card{border:1px solid #d8dde6;border-radius:6px;padding:.5rem .8rem;min-width:8rem}
        .card .value{font-size:1.3rem;font-weight:600}.card .label{color:#555;font-size:.85rem}
        table{border-collapse:collapse;width:100%;font-size:.88rem}th,td{border-bottom:1px solid #e3e6ec;padding:.3rem .4rem;text-align:left;vertical-align:top}
        th{background:#f4f6f9}svg{width:100%;max-width:760px;height:auto}
        .axis{stroke:#888}.tick{font-size:10px;fill:#555}.bar.recorded{fill:#c9d3e6}.bar.compliant{fill:#2f6fdf}
        polyline.rate{fill:none;stroke:#d1432f;stroke-width:2}circle.rate{fill:#d1432f}.legend{color:#555;font-size:.85rem}
        .key{display:inline-block;width:.8rem;height:.8rem;margin:0 .25rem 0 .8rem;vertical-align:-1px}
        .key.recorded{background:#c9d3e6}.key.compliant{background:#2f6fdf}.key.rate{background:#d1432f;height:.2rem;vertical-align:3px}
        .gaps{border:2px solid #b42318;background:#fef3f2;color:#7a271a;border-radius:6px;padding:.6rem 1rem;margin:1rem 0;font-weight:600}
        footer{margin-top:2rem;color:#777;font-size:.85rem}
        """
}
