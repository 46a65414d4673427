import Crypto
import Foundation

/// `snapshot --format jsonl`: a period of any store written as canonical records (see
/// `CanonicalRecords`), in the order `JSONLGatewayStore` reads them, closed by a digest of every
/// record type so a reader can tell the file is whole and unaltered. Like an SQLite snapshot it holds
/// what the store holds (commands and output unmasked: the tests need them), so it is written
/// readable by its owner only.
public enum CanonicalExport {
    public struct Result: Sendable {
        public var path: String
        /// Records written, by type.
        public var counts: [String: Int]
    }

    /// Writes `store`'s records of `period` to `path` (gzip when it ends in `.gz`), staged beside it
    /// and renamed into place only when complete. The store's organization must be chosen already.
    public static func write(from store: any GatewayStore, period: Period, to path: String, exportedAt: Date) throws -> Result {
        try OutputGuard.checkReplaceableFile(path, option: "--out", what: "an export of canonical records", isOurs: isExport)
        let staging = try Staging(target: path, folder: false)
        do {
            let counts = try export(store, period, into: staging.path, gzip: path.hasSuffix(".gz"), exportedAt: exportedAt)
            try OutputGuard.checkReplaceableFile(path, option: "--out", what: "an export of canonical records", isOurs: isExport)
            try staging.commit()
            return Result(path: path, counts: counts)
        } catch {
            staging.discard()
            throw error
        }
    }

    /// A file whose first line is a canonical header: one this tool wrote, which may be replaced.
    static func isExport(_ path: String) -> Bool {
        guard let file = try? LineFile(path: path, what: JSONLGatewayStore.what),
              case .text(let line, _)? = try? file.next() else { return false }
        let start = Array(#"{"type":"header","format":""#.utf8) + Array(CanonicalRecords.format.utf8) + [34]
        // A converter may write the same header; only one this tool wrote names it.
        return line.starts(with: start) && String(decoding: line, as: UTF8.self).contains(#""tool":"\#(ToolInfo.name) "#)
    }

    static func export(_ store: any GatewayStore, _ period: Period, into path: String, gzip: Bool, exportedAt: Date) throws -> [String: Int] {
        let out = try ByteStream(path: path, gzip: gzip, mode: 0o600)
        var counts: [String: Int] = [:]
        var digests: [String: SHA256] = [:]
        func emit(_ kind: CanonicalRecords.Kind, _ line: [UInt8]) throws {
            let bytes = line + [10]
            counts[kind.rawValue, default: 0] += 1
            digests[kind.rawValue, default: SHA256()].update(data: bytes)
            try out.write(bytes)
        }
        let directory = try store.loadDirectory(for: period)
        let source = try store.describe()
        try emit(.header, CanonicalRecords.header(.init(exportedAt: exportedAt, tool: "\(ToolInfo.name) \(ToolInfo.version)",
                                                         period: period, source: source, unsupported: directory.unsupported)))
        for user in directory.users.values.sorted(by: { $0.subject < $1.subject }) { try emit(.identity, CanonicalRecords.identity(user)) }
        for connection in directory.connections.values.sorted(by: { $0.name < $1.name }) {
            try emit(.connection, CanonicalRecords.connection(connection))
        }
        for rule in directory.accessRules { try emit(.accessRule, CanonicalRecords.accessRule(rule)) }
        for (id, name) in directory.ruleNames.sorted(by: { $0.key < $1.key }) { try emit(.rule, CanonicalRecords.rule(id: id, name: name)) }
        for change in directory.policyChanges { try emit(.policyChange, CanonicalRecords.policyChange(change)) }
        for lock in directory.locks { try emit(.lock, CanonicalRecords.lock(lock)) }
        try store.forEachGrant(in: period) { try emit(.approval, CanonicalRecords.approval($0)) }
        try store.forEachSession(in: period) { session in
            try emit(.session, CanonicalRecords.session(session))
            for command in session.transcript.commands { try emit(.command, CanonicalRecords.command(command, session: session.id)) }
            for chunk in session.transcript.output { try emit(.output, CanonicalRecords.output(chunk, session: session.id)) }
        }
        try store.forEachConfigChange(in: period) { try emit(.change, CanonicalRecords.change($0)) }
        for issue in store.dataQuality { try emit(.dataQuality, CanonicalRecords.dataQuality(issue)) }
        let tables = Dictionary(uniqueKeysWithValues: digests.map {
            ($0.key, SnapshotProvenance.TableDigest(rows: counts[$0.key] ?? 0, sha256: Hex.encode($0.value.finalize())))
        })
        try out.write(CanonicalRecords.digest(tables) + [10])
        try out.close()
        return counts
    }
}
