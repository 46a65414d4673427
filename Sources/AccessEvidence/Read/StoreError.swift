import Foundation

/// Errors that stop a read: each names the file, table, column or row it is about, in one line.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    case notFound(path: String)
    case notSQLite(path: String)
    case unreadable(path: String, reason: String)
    case query(path: String, reason: String)
    case missingSchema(path: String, missing: [String])
    case badRow(DataQualityIssue)
    case dataQuality(count: Int, first: DataQualityIssue)
    /// The server could not be reached, refused the session, or went away mid-read.
    case unavailable(source: String, reason: String)
    /// The server turned the credentials or the role down.
    case permissionDenied(source: String, reason: String)
    /// A snapshot whose tables no longer hash as its extract manifest recorded.
    case snapshotAltered(path: String, tables: [String])
    /// A store the tool will not open as it is: reading it would make SQLite write, roll back or
    /// create a file next to it, or run more than a plain read (a view); `reason` says why and what to do.
    case refused(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file"
        case .notSQLite(let path): return "\(path): not an SQLite database (the file does not start with the SQLite header)"
        case .unreadable(let path, let reason): return "\(path): cannot open: \(reason)"
        case .query(let path, let reason): return "\(path): query failed: \(reason)"
        case .missingSchema(let path, let missing):
            return "\(path): not a gateway store: missing \(missing.joined(separator: ", "))"
        case .badRow(let issue): return issue.description
        case .dataQuality(let count, let first):
            return "\(count) data-quality problem\(count == 1 ? "" : "s") in the store (--strict); first: \(first.description)"
        case .unavailable(let source, let reason): return "\(source): \(reason)"
        case .permissionDenied(let source, let reason): return "\(source): \(reason)"
        case .refused(let path, let reason): return "\(path): \(reason)"
        case .snapshotAltered(let path, let tables):
            return "\(path): snapshot altered after extraction: \(tables.joined(separator: ", ")) no longer match the extract manifest's row counts and SHA-256"
        }
    }
}
