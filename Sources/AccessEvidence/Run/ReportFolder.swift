import Foundation

/// Writes a report folder all at once: files go to a hidden sibling folder, which replaces
/// the target only when every file is written. A failed run leaves the old report untouched.
public struct ReportFolder {
    public let destination: URL

    public init(path: String) { destination = URL(fileURLWithPath: path) }

    public func write(_ files: [(name: String, data: Data)]) throws {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        let staging = parent.appendingPathComponent(".\(name).partial-\(ProcessInfo.processInfo.processIdentifier)")
        let previous = parent.appendingPathComponent(".\(name).previous-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try? fm.removeItem(at: staging)
            try fm.createDirectory(at: staging, withIntermediateDirectories: false)
            for file in files {
                try file.data.write(to: staging.appendingPathComponent(file.name), options: .atomic)
            }
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw OutputError(path: destination.path, reason: "exists and is not a folder")
                }
                try fm.moveItem(at: destination, to: previous)
                do {
                    try fm.moveItem(at: staging, to: destination)
                } catch {
                    try? fm.moveItem(at: previous, to: destination)
                    throw error
                }
                try? fm.removeItem(at: previous)
            } else {
                try fm.moveItem(at: staging, to: destination)
            }
        } catch let error as OutputError {
            try? fm.removeItem(at: staging)
            throw error
        } catch {
            try? fm.removeItem(at: staging)
            throw OutputError(path: destination.path, reason: (error as NSError).localizedDescription)
        }
    }
}

public struct OutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): cannot write the report: \(reason)" }
}
