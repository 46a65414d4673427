import Crypto
import Foundation

/// Reads a file of canonical records (`--store jsonl:PATH`; see `CanonicalRecords` and the README's
/// "Canonical records"), plain or gzip. The file is only read, front to back, a few times: once to
/// take the directory (identities, connections, rules), the counts and the digests, then once for the
/// sessions with a second cursor beside it for the grants, and once for the configuration changes.
/// Memory holds the directory and one session at a time, whatever the file's size.
///
/// Order the file must keep: sessions in the order they started, each followed by its own `command`
/// and `output` records; `approval` records in the order they were requested. Everything else may
/// sit anywhere.
public final class JSONLGatewayStore: GatewayStore {
    public static let scheme = "jsonl:"

    public let path: String
    private var log = DataQualityLog()
    private var scanned: (period: Period, scan: Scan)?
    private var tally: SessionTally?
    private var organization: StoreOrganization?

    /// What the first pass learns.
    struct Scan {
        var header: JSONObject?
        var headerLine = 0
        var directory = StoreDirectory()
        var counts: [String: Int] = [:]
        var digests: [String: SHA256] = [:]
        var claimed: [String: SnapshotProvenance.TableDigest]?
        /// The exporting reader's issues, bounded as a reader's own are.
        var carried = DataQualityLog()
        var sessionsInPeriod = 0
        var organization: OrganizationRef?
        var absentColumns: [AbsentColumn] = []
    }

    /// `location` is what follows `jsonl:`.
    public init(location: String) throws {
        guard location != "-" else {
            throw StoreError.refused(path: "jsonl:-", reason: "canonical records are read from a file (the reader passes over it more than once); write them to a file first")
        }
        path = location
        // Opened once here so a missing or unreadable file is the first thing said.
        _ = try LineFile(path: path, what: Self.what)
    }

    static let what = "a file of canonical records (JSON lines, optionally gzip)"

    public static func isCanonical(_ location: String) -> Bool { location.hasPrefix(scheme) }

    public var dataQuality: [DataQualityIssue] {
        (scanned?.scan.carried.issues ?? []) + log.issues
    }

    func note(_ issue: DataQualityIssue) { log.note(issue) }

    func here(_ file: LineFile) -> String { "\(path):\(file.lineNumber)" }

    // MARK: lines

    /// The record type of a line, read without parsing the line when it starts `{"type":"…"`, as
    /// every export writes it; other lines are parsed. Nil for a line that is no JSON object (noted by
    /// the pass that notes, `noting`).
    func recordKind(of line: [UInt8], _ file: LineFile, noting: Bool) -> (String, JSONObject?)? {
        if let fast = Self.sniff(line) { return (fast, nil) }
        guard let object = parse(line, file, noting: noting) else { return nil }
        guard case .string(let kind)? = object["type"] else {
            if noting { note(DataQualityIssue(table: "record", column: "type", rowID: here(file), problem: "no record type; the line is skipped")) }
            return nil
        }
        return (kind, object)
    }

    func parse(_ line: [UInt8], _ file: LineFile, noting: Bool) -> JSONObject? {
        let text = String(decoding: line, as: UTF8.self)
        do {
            guard case .object(let object) = try JSONValue.parse(text) else {
                if noting { note(DataQualityIssue(table: "record", column: "json", rowID: here(file), problem: "not a JSON object; the line is skipped")) }
                return nil
            }
            return object
        } catch {
            if noting {
                note(DataQualityIssue(table: "record", column: "json", rowID: here(file), problem: "malformed JSON at byte \(error.offset + 1) (\(error.reason)); the line is skipped"))
            }
            return nil
        }
    }

    /// `{"type":"session"` … → `session`, for lines that begin the way exports write them.
    static func sniff(_ line: [UInt8]) -> String? {
        let prefix: [UInt8] = Array(#"{"type":""#.utf8)
        guard line.count > prefix.count, line.starts(with: prefix) else { return nil }
        var i = prefix.count
        while i < line.count, i < prefix.count + 32 {
            let b = line[i]
            if b == 34 { return String(decoding: line[prefix.count..<i], as: UTF8.self) }
            if b == 92 || b < 32 { return nil }
            i += 1
        }
        return nil
    }

    /// Calls `body` with each complete line: too long ones and a last line cut short are noted here
    /// (when `noting`) and not passed on.
    func forEachLine(noting: Bool, _ body: ([UInt8], LineFile) throws -> Bool) throws {
        let file = try LineFile(path: path, what: Self.what)
        while let line = try file.next() {
            switch line {
            case .tooLong(let bytes):
                if noting {
                    note(DataQualityIssue(table: "record", column: "json", rowID: here(file), problem: "a line of \(bytes) bytes, longer than \(LineFile.maximumBytes) bytes; skipped"))
                }
            case .text(let bytes, let terminated):
                if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                if !terminated, parse(bytes, file, noting: false) == nil {
                    if noting {
                        note(DataQualityIssue(table: "record", column: "json", rowID: here(file), problem: "the last line ends without a newline and is not complete JSON (the file may still be being written); skipped"))
                    }
                    continue
                }
                if try !body(bytes, file) { return }
            }
        }
    }

    // MARK: the first pass

    func scan(_ period: Period) throws -> Scan {
        if let scanned, scanned.period == period { return scanned.scan }
        var s = Scan()
        var rules: [(String, String)] = []
        try forEachLine(noting: true) { line, file in
            guard let (kind, parsed) = recordKind(of: line, file, noting: true) else { return true }
            let known = CanonicalRecords.Kind(rawValue: kind)
            // Unknown types are counted together: a hostile file could name millions.
            let counted = known == nil ? "(unknown record types)" : kind
            if known != .digest {
                s.counts[counted, default: 0] += 1
                s.digests[counted, default: SHA256()].update(data: line + [10])
            }
            guard let known else {
                note(DataQualityIssue(table: "record", column: "type", rowID: here(file), problem: "unknown record type '\(kind)'; the line is skipped"))
                return true
            }
            switch known {
            case .command, .output, .approval, .change: return true
            default: break
            }
            guard let object = parsed ?? parse(line, file, noting: true) else { return true }
            let d = CanonicalDecoder(object: object, kind: kind, location: here(file), note: note)
            switch known {
            case .header:
                if s.header != nil {
                    note(DataQualityIssue(table: kind, column: "type", rowID: here(file), problem: "a second header; the first (line \(s.headerLine)) is used"))
                } else {
                    s.header = object
                    s.headerLine = file.lineNumber
                    try checkHeader(d, period: period, into: &s)
                }
            case .identity: if let u = d.identity() { s.directory.users[u.subject] = u }
            case .connection: if let c = d.connection() { s.directory.connections[c.name] = c }
            case .accessRule: if let r = d.accessRule() { s.directory.accessRules.append(r) }
            case .rule: if let id = d.required("id"), let name = d.required("name") { rules.append((id, name)) }
            case .policyChange: if let p = d.policyChange() { s.directory.policyChanges.append(p) }
            case .lock: if let l = d.lock() { s.directory.locks.append(l) }
            case .session:
                if let created = d.time("created_at"), period.contains(created) { s.sessionsInPeriod += 1 }
            case .dataQuality:
                s.carried.note(DataQualityIssue(table: d.string("table") ?? "", column: d.string("column") ?? "",
                                                  rowID: d.string("row_id") ?? "", problem: d.string("problem") ?? ""))
            case .digest:
                var claimed: [String: SnapshotProvenance.TableDigest] = [:]
                for member in d.nested("records")?.object.sortedMembers ?? [] {
                    let entry = CanonicalDecoder(object: member.value.object ?? JSONObject(members: []), kind: kind, location: here(file), note: note)
                    if let rows = entry.int("rows", 0...Int.max), let sha = entry.string("sha256") {
                        claimed[member.key] = .init(rows: rows, sha256: sha)
                    }
                }
                s.claimed = claimed
            case .command, .output, .approval, .change: break
            }
            return true
        }
        for (id, name) in rules { s.directory.ruleNames[id] = name }
        s.directory.accessRules.sort { ($0.name, $0.id) < ($1.name, $1.id) }
        s.directory.policyChanges.sort { ($0.at, $0.id) < ($1.at, $1.id) }
        if s.claimed == nil, let header = s.header, case .string(let tool)? = header["tool"], tool.hasPrefix(ToolInfo.name + " ") {
            throw StoreError.refused(path: path, reason: "an export by \(tool) ends without its digest record: the file was cut short (copy it again, or export again)")
        }
        if let claimed = s.claimed {
            let found = s.digests.mapValues { Hex.encode($0.finalize()) }
            let kinds = Set(claimed.keys).union(found.keys).sorted()
            let altered = kinds.filter { claimed[$0]?.rows != s.counts[$0] || claimed[$0]?.sha256 != found[$0] }
            if !altered.isEmpty { throw StoreError.snapshotAltered(path: path, tables: altered.map { "\($0) records" }) }
        }
        scanned = (period, s)
        return s
    }

    /// The header's facts; a report for a period the export does not cover is refused.
    func checkHeader(_ d: CanonicalDecoder, period: Period, into s: inout Scan) throws {
        if let format = d.string("format"), format != CanonicalRecords.format {
            throw StoreError.refused(path: path, reason: "line \(s.headerLine): the header names format '\(format)', not \(CanonicalRecords.format)")
        }
        if let version = d.int("version", 0...Int.max), version > CanonicalRecords.version {
            throw StoreError.refused(path: path, reason: "line \(s.headerLine): records of format version \(version); this tool reads version \(CanonicalRecords.version)")
        }
        if let covered = d.nested("period"), let start = covered.time("start"), let end = covered.time("end"),
           period.start < start || period.end > end {
            let label = covered.string("label") ?? "its period"
            throw StoreError.refused(path: path, reason: "the records were exported for \(label) [\(Timestamp.format(start)), \(Timestamp.format(end))); \(period.label) is not inside it, so its report would miss sessions")
        }
        if let source = d.nested("source"), let org = source.nested("organization"), let id = org.string("id") {
            s.organization = OrganizationRef(id: id, name: org.string("name"))
        }
        s.directory.unsupported = d.stringMap("unsupported")
        for entry in d.objects("absent_columns") {
            if let column = entry.string("column") {
                s.absentColumns.append(AbsentColumn(column: column, addedIn: entry.int("added_in", 0...100_000) ?? 0, limits: entry.string("limits") ?? ""))
            }
        }
    }

    // MARK: GatewayStore

    public func organizations(in period: Period) throws -> [StoreOrganization] {
        let s = try scan(period)
        return s.organization.map { [StoreOrganization(id: $0.id, name: $0.name, sessionsInPeriod: s.sessionsInPeriod)] } ?? []
    }

    /// A file holds one organization's records; naming it is all there is to choose.
    public func select(organization: StoreOrganization, filter: Bool) {
        self.organization = organization
    }

    public func loadDirectory(for period: Period) throws -> StoreDirectory {
        var directory = try scan(period).directory
        directory.policyChanges.removeAll { $0.at >= period.end }
        return directory
    }

    public func countSessions(in period: Period) throws -> (count: Int, query: String) {
        (try scan(period).sessionsInPeriod, "session records of \(path) with created_at in [\(Timestamp.format(period.start)), \(Timestamp.format(period.end)))")
    }

    public func forEachSession(in period: Period, _ body: (consuming SessionRecord) throws -> Void) throws {
        _ = try scan(period)
        let grants = JITGrantWindow(read: try grantCursor(period))
        var tally = SessionTally()
        var current: (record: SessionRecord, transcript: Transcript, commands: [Command], output: [OutputChunk])?
        // The id of the last session line, tested or not: its commands and output follow it.
        var currentID: String?
        var lastStart: Date?
        func finish() throws {
            guard var c = current else { return }
            current = nil
            c.record.transcript = Transcript(commands: c.commands, output: c.output, truncated: c.transcript.truncated,
                                             recordingMissing: c.transcript.recordingMissing, firstEventAt: c.transcript.firstEventAt)
            let r = c.record
            // A session with assurance names its grants itself (`grants`); hoop's are matched by requester, connection and time.
            if r.assurance != nil {
                try body(c.record)
                return
            }
            let jit = try grants.overlapping(subject: r.actor.subject, connection: r.connectionName, from: r.createdAt,
                                             to: max(r.endedAt ?? r.createdAt, r.createdAt), excluding: r.approval?.id)
            c.record.jitGrants = jit
            if jit.isEmpty { c.record.lapsedGrant = grants.lastEnded(subject: r.actor.subject, connection: r.connectionName, before: r.createdAt) }
            try body(c.record)
        }
        try forEachLine(noting: false) { line, file in
            guard let (kind, parsed) = recordKind(of: line, file, noting: false) else { return true }
            switch kind {
            case "session":
                try finish()
                guard let object = parsed ?? parse(line, file, noting: false) else { return true }
                let d = CanonicalDecoder(object: object, kind: kind, location: here(file), note: note)
                currentID = d.string("id")
                guard let (record, transcript) = d.session() else {
                    if currentID != nil { tally.add(.unreadableCreatedAt, counted: false) }
                    return true
                }
                guard period.contains(record.createdAt) else {
                    return true
                }
                // Order matters only to sessions matched to grants by time (those naming their own grants are not).
                if record.assurance == nil {
                    if let lastStart, record.createdAt < lastStart.addingTimeInterval(-3 * 3_600) {
                        note(DataQualityIssue(table: kind, column: "created_at", rowID: here(file) + " (\(record.id))",
                                              problem: "starts more than three hours before the session before it; sessions must be in start order, so the grants matched to it may be incomplete"))
                    }
                    lastStart = max(lastStart ?? record.createdAt, record.createdAt)
                }
                tally.add(.tested, counted: true)
                current = (record, transcript, [], [])
            case "command", "output":
                // The first pass counted this line without parsing it: a broken one is said here.
                guard let object = parsed ?? parse(line, file, noting: true) else { return true }
                let d = CanonicalDecoder(object: object, kind: kind, location: here(file), note: note)
                guard let owner = d.required("session") else { return true }
                guard owner == currentID else {
                    note(DataQualityIssue(table: kind, column: "session", rowID: here(file),
                                          problem: "belongs to session \(owner) but does not follow its session record; skipped"))
                    return true
                }
                guard current != nil else { return true }
                if kind == "command" {
                    if let command = d.command() { current!.commands.append(command) }
                } else if let chunk = d.output() {
                    current!.output.append(chunk)
                }
            default:
                break
            }
            return true
        }
        try finish()
        self.tally = tally
    }

    /// The approved just-in-time grants for `period`, in file order, for `JITGrantWindow`: the same
    /// selection hoop's readers make in SQL.
    func grantCursor(_ period: Period) throws -> () throws -> Approval?? {
        let file = try LineFile(path: path, what: Self.what)
        return { [unowned self] in
            while let line = try file.next() {
                guard case .text(let bytes, _) = line, let (kind, parsed) = recordKind(of: bytes, file, noting: false), kind == "approval",
                      let object = parsed ?? parse(bytes, file, noting: true) else { continue }
                let d = CanonicalDecoder(object: object, kind: kind, location: here(file), note: note)
                guard let grant = d.approval(), grant.kind == .jit, grant.isGranted, grant.requestedAt < period.end,
                      (grant.expiresAt ?? period.start) >= period.start else { return .some(nil) }
                return .some(grant)
            }
            return nil
        }
    }

    public func forEachGrant(in period: Period, _ body: (Approval) throws -> Void) throws {
        let next = try grantCursor(period)
        while let grant = try next() {
            if let grant { try body(grant) }
        }
    }

    public func forEachConfigChange(in period: Period, _ body: (ConfigChange) throws -> Void) throws {
        try forEachLine(noting: false) { line, file in
            guard let (kind, parsed) = recordKind(of: line, file, noting: false), kind == "change",
                  let object = parsed ?? parse(line, file, noting: true) else { return true }
            if let change = CanonicalDecoder(object: object, kind: kind, location: here(file), note: note).change(), period.contains(change.at) {
                try body(change)
            }
            return true
        }
    }

    public func describe() throws -> SourceInfo {
        guard let (period, s) = scanned else { throw StoreError.refused(path: path, reason: "described before it was read") }
        var info = SourceInfo(kind: "jsonl", location: path, sha256: try FileHash.sha256(path: path), rowCounts: s.counts,
                              schemaVersion: "\(CanonicalRecords.format) \(CanonicalRecords.version)")
        let range = "[\(Timestamp.format(period.start)), \(Timestamp.format(period.end)))"
        info.queries = [
            "sessions": "session records with created_at in \(range), in file order, each with the command and output records that follow it",
            "jit_grants": "approval records of kind jit, approved, requested before \(Timestamp.format(period.end)) and not expired before \(Timestamp.format(period.start)), in file order",
            "configuration_changes": "change records with at in \(range), in file order",
        ]
        info.sessionTally = tally
        info.organization = organization.map { OrganizationRef(id: $0.id, name: $0.name) } ?? s.organization
        info.absentColumns = s.absentColumns
        if let header = s.header, let claimed = s.claimed {
            let d = CanonicalDecoder(object: header, kind: "header", location: "\(path):\(s.headerLine)", note: { _ in })
            let source = d.nested("source")
            info.snapshot = SnapshotProvenance(
                extractedFrom: source?.string("location") ?? "", extractedAt: d.string("exported_at") ?? "",
                schemaVersion: source?.string("schema_version"), period: d.nested("period")?.string("label") ?? "",
                tool: d.string("tool") ?? "", tables: claimed, verified: true)
            info.schemaVersion = source?.string("schema_version") ?? info.schemaVersion
        }
        return info
    }
}
