import Foundation

/// Writes a report folder all at once: files go to a hidden sibling folder, which replaces
/// the target only when every file is written. A failed run leaves the old report untouched.
public struct ReportFolder {
    public let destination: URL

    public init(path: String) { destination = URL(fileURLWithPath: path) }

    /// Lets `produce` fill the staging folder, then puts it in place. Errors from `produce` pass
    /// through unchanged; file-system errors become an `OutputError` naming the folder.
    public func write(_ produce: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        let pid = ProcessInfo.processInfo.processIdentifier
        let staging = parent.appendingPathComponent(".\(name).partial-\(pid)")
        let previous = parent.appendingPathComponent(".\(name).previous-\(pid)")
        func fileSystem<T>(_ step: () throws -> T) throws -> T {
            do { return try step() } catch {
                throw OutputError(path: destination.path, reason: (error as NSError).localizedDescription)
            }
        }
        try fileSystem {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try? fm.removeItem(at: staging)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        }
        do {
            try produce(staging)
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw OutputError(path: destination.path, reason: "exists and is not a folder")
                }
                try fileSystem { try fm.moveItem(at: destination, to: previous) }
                do {
                    try fileSystem { try fm.moveItem(at: staging, to: destination) }
                } catch {
                    try? fm.moveItem(at: previous, to: destination)
                    throw error
                }
                try? fm.removeItem(at: previous)
            } else {
                try fileSystem { try fm.moveItem(at: staging, to: destination) }
            }
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
    }
}

public struct OutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    /// What could not be written: the report, a snapshot, a key.
    public var what: String

    public init(path: String, reason: String, what: String = "the report") {
        self.path = path
        self.reason = reason
        self.what = what
    }

    public var description: String { "\(path): cannot write \(what): \(reason)" }
}
