import Foundation

/// Writes a report folder all at once: files go to a staging folder beside it (`Staging`), which
/// replaces the target only when every file is written. The target must be absent, empty or one of
/// our reports (`OutputGuard.checkReportFolder`); a failed or stopped run leaves the old report as it was.
public struct ReportFolder {
    public let destination: URL

    public init(path: String) { destination = URL(fileURLWithPath: path) }

    /// Checks the target, lets `produce` fill the staging folder, then puts it in place. Errors
    /// from `produce` that are the file system's become an `OutputError` naming the folder.
    public func write(_ produce: (URL) throws -> Void) throws {
        try OutputGuard.checkReportFolder(destination.path)
        let staging = try Staging(target: destination.path, folder: true)
        do {
            try produce(URL(fileURLWithPath: staging.path))
            // Checked again: the folder may have changed while the report was made.
            try OutputGuard.checkReportFolder(destination.path)
            try staging.commit()
        } catch let error as CocoaError {
            staging.discard()
            throw OutputError(path: destination.path, reason: OutputError.describe(error))
        } catch {
            staging.discard()
            throw error
        }
    }
}

public struct OutputError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    /// What could not be written: the report, a snapshot, a key.
    public var what: String
    /// The path holds something the tool must not replace.
    public var refused: Bool
    /// The command line itself is contradictory (an output on an input): a usage error.
    public var usage: Bool

    public init(path: String, reason: String, what: String = "the report", refused: Bool = false, usage: Bool = false) {
        self.path = path
        self.reason = reason
        self.what = what
        self.refused = refused
        self.usage = usage
    }

    public var description: String {
        refused || usage ? "\(path): \(reason)" : "\(path): cannot write \(what): \(reason)"
    }

    /// One line for a file-system error: the system's reason (ENOSPC: "No space left on device"),
    /// never Foundation's dump of the error's user-info dictionary.
    public static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        var underlying = ns
        while let inner = underlying.userInfo[NSUnderlyingErrorKey] as? NSError { underlying = inner }
        if underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        switch (error as? CocoaError)?.code {
        case .fileWriteOutOfSpace?: return "No space left on device"
        case .fileWriteNoPermission?, .fileReadNoPermission?: return "Permission denied"
        case .fileWriteVolumeReadOnly?: return "Read-only file system"
        case .fileNoSuchFile?, .fileReadNoSuchFile?: return "No such file or directory"
        default: break
        }
        let text = ns.localizedDescription
        return text.split(whereSeparator: \.isNewline).first.map(String.init) ?? text
    }
}
