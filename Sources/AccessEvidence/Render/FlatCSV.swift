import Foundation

/// `--format csv`: two flat files for the analysts who load evidence into IDEA, ACL, Excel Power Query
/// or pandas. `findings.csv` is one row per finding (exceptions, then observations) with every column
/// of the workbook's Exceptions sheet; `results.csv` is one row per framework × criterion × control ×
/// test, for every framework of the run.
///
/// RFC 4180 (CRLF, fields quoted when they hold a comma, quote or line break), UTF-8 with a byte-order
/// mark (Excel reads UTF-8 only with one). Every value passes the output gate, and a text cell that a
/// spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab or carriage return) is
/// prefixed with `'`, as OWASP recommends; a number such as `-3` stays a number.
public enum FlatCSV {
    public static let findingsFile = "findings.csv"
    public static let resultsFile = "results.csv"

    static let findingsHeader = ["kind", "fingerprint", "control", "test", "criteria", "item", "session", "identity", "resource",
                                 "time_utc", "severity", "reason_code", "reason", "failed_attributes", "evidence_masked", "status",
                                 "management_response", "facts"]
    static let resultsHeader = ["framework", "criterion", "criterion_title", "category", "gateway_evidence", "status", "control", "test",
                                "population", "exceptions", "observations"]

    public static func findings(_ document: EvidenceDocument) -> [UInt8] {
        var out = bom + record(findingsHeader, gate: false)
        for kind in ["exception", "observation"] {
            for c in document.controls {
                for t in c.tests {
                    let labels = Dictionary(t.facts.map { ($0.id, $0.label) }, uniquingKeysWith: { a, _ in a })
                    for e in kind == "exception" ? t.exceptions : t.observations {
                        let response = e.managementResponse.map {
                            "\($0.acceptance): \($0.reason) (approved by \($0.approver), \($0.ticket), until \($0.expires))"
                        } ?? ""
                        // Facts in the test's column order, `label: value`, one per line inside the cell.
                        let facts = t.facts.compactMap { f in e.facts[f.id].map { "\(labels[f.id] ?? f.id): \($0)" } }.joined(separator: "\n")
                        out += record([kind, e.fingerprint, e.control, e.test, e.criteria.joined(separator: ", "), e.item, e.session,
                                       e.identity, e.resource, e.time, e.severity, e.reasonCode, e.reason,
                                       e.failedAttributes.joined(separator: " "), e.evidence, e.status, response, facts])
                    }
                }
            }
        }
        return out
    }

    /// A criterion without gateway evidence (or without tests) is one row with the control and test empty.
    public static func results(_ document: EvidenceDocument) -> [UInt8] {
        var out = bom + record(resultsHeader, gate: false)
        for f in document.frameworks {
            for c in f.criteria {
                let head = [f.id, c.id, c.title, c.category, c.gatewayEvidence, c.status]
                if c.tests.isEmpty {
                    out += record(head + ["", "", "0", "0", "0"])
                    continue
                }
                for t in c.tests {
                    out += record(head + [t.control, t.test, String(t.population), String(t.exceptions), String(t.observations)])
                }
            }
        }
        return out
    }

    static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// One CRLF-terminated record; each field gated (line breaks inside a field are kept as such,
    /// quoted, since the facts cell lists one fact per line) and neutralised against formulas.
    static func record(_ fields: [String], gate: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(44) }
            let value = gate ? field.split(separator: "\n", omittingEmptySubsequences: false).map { OutputGate.text(String($0)) }.joined(separator: "\n") : field
            PopulationCSV.append(value, to: &out, neutralise: gate)
        }
        out += [13, 10]
        return out
    }
}
