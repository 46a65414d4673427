import Foundation

/// `--format ocsf`: the report as OCSF 1.5.0 Compliance Finding events (class 2003), one JSON object
/// per line, for security data lakes and SIEMs that ingest OCSF (Amazon Security Lake, Splunk, …).
///
/// - One event per control test: `compliance.control` is the gateway control, `compliance.standards`
///   the criteria it supports (`SOC 2 CC6.1`), `compliance.status_id` Pass (no exception; observations
///   are counted in `status_details`), Fail (exceptions) or Warning (an empty population: OCSF's "did
///   not yield a result due to missing information").
/// - One event per exception and per observation: `finding_info.uid` is the finding's fingerprint
///   (the same in report.json, the workbook and alerts, so a SIEM can deduplicate across runs), the
///   session, identity and connection are its `resources`, and the item with its facts from the
///   store is the `evidences` entry. An exception's compliance status is Fail; an observation's is
///   Other (`status` "Observation"): it notes a condition without failing the test. An accepted
///   exception has the finding `status_id` Other, `status` "Accepted", with the acceptance in
///   `status_detail` (OCSF's Suppressed means benign or a false positive, which an accepted risk is not).
///
/// Times are epoch milliseconds, as OCSF asks. Built from report.json's document, so the two always
/// agree; every string passes the output gate (`CanonicalJSON.lines`).
public enum OCSFFindings {
    public static let fileName = "ocsf-findings.jsonl"
    public static let schemaVersion = "1.5.0"

    /// The events of `document`: test results in catalog order, then exceptions and observations.
    public static func events(_ document: EvidenceDocument) throws -> [UInt8] {
        let generated = milliseconds(document.generatedAt)
        let tool = product(document)
        let named = document.controls.map { standards($0, document) }
        var lines: [Event] = []
        for (control, standards) in zip(document.controls, named) {
            for test in control.tests {
                lines.append(testResult(control, test, document, standards: standards, product: tool, generated: generated))
            }
        }
        for (control, standards) in zip(document.controls, named) {
            for test in control.tests {
                for finding in test.exceptions + test.observations {
                    lines.append(exception(finding, test: test, control: control, standards: standards,
                                           generated: generated, generatedText: document.generatedAt, period: document.period,
                                           product: tool))
                }
            }
        }
        return try CanonicalJSON.lines(lines)
    }

    /// `alert --format ocsf`: one event per finding the alert speaks of, so a cron job can feed a SIEM.
    /// New findings are created (status New), still-open ones updated (New), accepted ones updated
    /// (status Other, "Accepted", with the acceptance), resolved ones closed (Resolved; the check now passes).
    /// `catalog` names each control's requirements: the primary framework's bare ids as `requirements`,
    /// every chosen framework's (`SOC 2 CC6.1`, `ISO 27001 A.5.16`) as `standards`.
    public static func alertEvents(_ alert: AlertDocument, catalog: Catalog) throws -> String {
        let criteria = Dictionary(catalog.controls.map { ($0.id, $0.criteria) }, uniquingKeysWith: { a, _ in a })
        let standards = Dictionary(catalog.controls.map { control in
            (control.id, catalog.frameworks.flatMap { Framework.qualified(control.crosswalk[$0.id] ?? [], id: $0.id, title: $0.title) })
        }, uniquingKeysWith: { a, _ in a })
        let generated = milliseconds(alert.generatedAt)
        let product = Product(name: ToolInfo.name, vendor_name: ToolInfo.name, version: ToolInfo.version)
        var events: [Event] = []
        for group in alert.groups {
            let buckets: [(items: [AlertDocument.Item], activity: Activity, status: (Int, String), compliance: ComplianceStatus)] = [
                (group.new, .create, (1, "New"), .fail), (group.open, .update, (1, "New"), .fail),
                (group.accepted, .update, (99, "Accepted"), .fail), (group.resolved, .close, (4, "Resolved"), .pass),
            ]
            for bucket in buckets {
                for item in bucket.items {
                    let requirements = criteria[item.control] ?? []
                    let time = milliseconds(item.time, or: generated)
                    let firstSeen = milliseconds(item.firstSeen, or: generated)
                    let resolved = bucket.activity == .close
                    var resources: [Resource] = []
                    if !item.identity.isEmpty { resources.append(Resource(uid: item.identity, name: item.identity, type: "Identity")) }
                    if !item.resource.isEmpty { resources.append(Resource(uid: nil, name: item.resource, type: "Connection")) }
                    let detail = bucket.compliance == .pass ? "no longer found in \(alert.window)" : item.reason
                    let event = Event(
                        activity: bucket.activity, time: time, severityID: severityID(item.severity),
                        statusID: bucket.status.0, status: bucket.status.1, statusDetail: item.note,
                        message: item.reason,
                        metadata: Metadata(uid: UUIDv5.make("ocsf-alert:" + item.fingerprint + ":" + alert.generatedAt + ":" + bucket.activity.name),
                                           product: product, version: schemaVersion, log_name: "alert"),
                        finding_info: FindingInfo(uid: item.fingerprint, title: "\(item.reasonCode) (\(item.control))", desc: item.reason,
                                                  types: ["Exception"], created_time: firstSeen,
                                                  first_seen_time: firstSeen, last_seen_time: resolved ? nil : generated),
                        compliance: Compliance(control: item.control, desc: "owner: \(group.owner)", standards: standards[item.control] ?? [],
                                               requirements: requirements, status_id: bucket.compliance.rawValue,
                                               status: bucket.compliance.name, status_details: [detail]),
                        start_time: generated, end_time: generated, resources: resources.isEmpty ? nil : resources,
                        evidences: [Evidence(name: "Gateway store records of item \(item.item)",
                                             data: ["item": item.item, "reason_code": item.reasonCode, "owner": group.owner])],
                        unmapped: ["age_days": String(item.ageDays), "window": alert.window, "store": alert.store])
                    events.append(event)
                }
            }
        }
        return String(decoding: try CanonicalJSON.lines(events), as: UTF8.self)
    }

    /// The requirements the control supports in every framework of the run, each named with its
    /// framework (`SOC 2 CC6.1`, `ISO 27001 A.8.32`); `requirements` keeps the primary framework's bare ids.
    static func standards(_ control: EvidenceDocument.ControlDoc, _ document: EvidenceDocument) -> [String] {
        document.frameworks.flatMap { Framework.qualified(control.crosswalk[$0.id] ?? [], id: $0.id, title: $0.title) }
    }


    static func testResult(_ control: EvidenceDocument.ControlDoc, _ test: EvidenceDocument.TestDoc, _ document: EvidenceDocument,
                           standards: [String], product: Product, generated: Int64) -> Event {
        let exceptions = test.exceptions.count, observations = test.observations.count
        let status: ComplianceStatus = test.populationCount == 0 ? .warning : exceptions > 0 ? .fail : .pass
        let worst = test.exceptions.map { severityID($0.severity) }.max() ?? (observations > 0 ? 2 : 1)
        let detail = "\(test.populationCount) item\(test.populationCount == 1 ? "" : "s") tested, \(exceptions) exception\(exceptions == 1 ? "" : "s"), "
            + "\(observations) observation\(observations == 1 ? "" : "s")"
        let uid = "\(control.id):\(test.test):\(document.period.label)"
        return Event(
            activity: .create, time: generated, severityID: worst, statusID: 1, status: "New",
            message: "\(control.id) \(test.test): \(status.name); \(detail)",
            metadata: Metadata(uid: UUIDv5.make("ocsf:" + uid + ":" + document.generatedAt), product: product,
                               version: schemaVersion, log_name: "report"),
            finding_info: FindingInfo(uid: uid, title: test.title, desc: test.population, types: ["Control test result"],
                                      created_time: generated, first_seen_time: nil, last_seen_time: nil),
            compliance: Compliance(control: control.id, desc: control.title, standards: standards,
                                   requirements: control.criteria, status_id: status.rawValue, status: status.name, status_details: [detail]),
            start_time: milliseconds(document.period.start), end_time: milliseconds(document.period.end),
            resources: nil, evidences: nil,
            unmapped: ["population": String(test.populationCount), "exceptions": String(exceptions), "observations": String(observations),
                       "test": test.test, "population_file": test.populationFile ?? ""])
    }

    static func exception(_ e: EvidenceDocument.ExceptionDoc, test: EvidenceDocument.TestDoc, control: EvidenceDocument.ControlDoc,
                          standards: [String], generated: Int64, generatedText: String, period: EvidenceDocument.PeriodDoc, product: Product) -> Event {
        let observation = e.kind == "observation"
        let status: ComplianceStatus = observation ? .other : .fail
        let accepted = e.managementResponse
        let time = milliseconds(e.time, or: generated)
        var resources: [Resource] = []
        if !e.session.isEmpty { resources.append(Resource(uid: e.session, name: e.session, type: "Session")) }
        if !e.identity.isEmpty { resources.append(Resource(uid: e.identity, name: e.identity, type: "Identity")) }
        if !e.resource.isEmpty { resources.append(Resource(uid: nil, name: e.resource, type: "Connection")) }
        var data = ["item": e.item, "evidence": e.evidence, "reason_code": e.reasonCode, "failed_attributes": e.failedAttributes.joined(separator: " ")]
        if !e.session.isEmpty { data["session"] = e.session }
        for fact in test.facts { if let value = e.facts[fact.id] { data["fact." + fact.id] = value } }
        return Event(
            activity: .create, time: time, severityID: severityID(e.severity),
            statusID: accepted == nil ? 1 : 99, status: accepted == nil ? "New" : "Accepted",
            statusDetail: accepted.map { "accepted as \($0.acceptance) until \($0.expires) (\($0.ticket)), approved by \($0.approver): \($0.reason)" },
            message: e.reason,
            metadata: Metadata(uid: UUIDv5.make("ocsf:" + e.fingerprint + ":" + period.label + ":" + generatedText), product: product, version: schemaVersion,
                               log_name: "report"),
            finding_info: FindingInfo(uid: e.fingerprint, title: "\(e.reasonCode) (\(control.id))", desc: e.reason,
                                      types: [observation ? "Observation" : "Exception"], created_time: generated,
                                      first_seen_time: time, last_seen_time: time),
            compliance: Compliance(control: control.id, desc: control.title, standards: standards,
                                   requirements: e.criteria, status_id: status.rawValue, status: observation ? "Observation" : status.name,
                                   status_details: [e.reason]),
            start_time: milliseconds(period.start), end_time: milliseconds(period.end),
            resources: resources.isEmpty ? nil : resources,
            evidences: [Evidence(name: "Gateway store records of item \(e.item)", data: data)],
            unmapped: ["test": test.test, "kind": e.kind, "status": e.status])
    }

    static func product(_ document: EvidenceDocument) -> Product {
        Product(name: document.tool.name, vendor_name: document.tool.name, version: document.tool.version)
    }

    /// OCSF's severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical (0 Unknown).
    static func severityID(_ severity: String) -> Int {
        switch severity.lowercased() {
        case "critical": 5
        case "high": 4
        case "medium": 3
        case "low": 2
        case "info", "informational": 1
        default: 0
        }
    }

    /// A timestamp of the report (`Timestamp.format`) in epoch milliseconds; `fallback` (the run's
    /// time) when there is none.
    static func milliseconds(_ text: String, or fallback: Int64 = 0) -> Int64 {
        guard let date = Timestamp.parse(text) else { return fallback }
        return Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// OCSF's compliance status_id (Warning: the check yielded no result for lack of information).
    enum ComplianceStatus: Int {
        case pass = 1, warning = 2, fail = 3, other = 99
        var name: String {
            switch self {
            case .pass: "Pass"
            case .warning: "Warning"
            case .fail: "Fail"
            case .other: "Other"
            }
        }
    }

    /// Activity of the finding: a report creates its findings; an alert also updates and closes them.
    enum Activity: Int {
        case create = 1, update = 2, close = 3
        var name: String {
            switch self {
            case .create: "Create"
            case .update: "Update"
            case .close: "Close"
            }
        }
    }

    // The wire format's own names (snake_case, as OCSF spells them), encoded as they are.

    struct Event: Encodable {
        var activity_id: Int
        var activity_name: String
        var category_uid = 2
        var category_name = "Findings"
        var class_uid = 2003
        var class_name = "Compliance Finding"
        var type_uid: Int
        var type_name: String
        var time: Int64
        var severity_id: Int
        var severity: String
        var status_id: Int
        var status: String
        var status_detail: String?
        var message: String
        var metadata: Metadata
        var finding_info: FindingInfo
        var compliance: Compliance
        var start_time: Int64
        var end_time: Int64
        var resources: [Resource]?
        var evidences: [Evidence]?
        var unmapped: [String: String]

        init(activity: Activity, time: Int64, severityID: Int, statusID: Int, status: String, statusDetail: String? = nil,
             message: String, metadata: Metadata, finding_info: FindingInfo, compliance: Compliance, start_time: Int64,
             end_time: Int64, resources: [Resource]?, evidences: [Evidence]?, unmapped: [String: String]) {
            activity_id = activity.rawValue
            activity_name = activity.name
            type_uid = 2003 * 100 + activity.rawValue
            type_name = "Compliance Finding: \(activity.name)"
            self.time = time
            severity_id = severityID
            severity = ["Unknown", "Informational", "Low", "Medium", "High", "Critical"][min(max(severityID, 0), 5)]
            status_id = statusID
            self.status = status
            status_detail = statusDetail
            self.message = message
            self.metadata = metadata
            self.finding_info = finding_info
            self.compliance = compliance
            self.start_time = start_time
            self.end_time = end_time
            self.resources = resources
            self.evidences = evidences
            self.unmapped = unmapped
        }
    }

    struct Metadata: Encodable {
        var uid: String
        var product: Product
        var version: String
        var log_name: String
    }

    struct Product: Encodable {
        var name: String
        var vendor_name: String
        var version: String
    }

    struct FindingInfo: Encodable {
        var uid: String
        var title: String
        var desc: String
        var types: [String]
        var created_time: Int64
        var first_seen_time: Int64?
        var last_seen_time: Int64?
    }

    struct Compliance: Encodable {
        var control: String
        var desc: String
        var standards: [String]
        var requirements: [String]
        var status_id: Int
        var status: String
        var status_details: [String]
    }

    struct Resource: Encodable {
        var uid: String?
        var name: String
        var type: String
    }

    struct Evidence: Encodable {
        var name: String
        var data: [String: String]
    }
}
