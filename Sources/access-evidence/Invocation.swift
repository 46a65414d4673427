import AccessEvidence
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum Invocation {
    /// The command line as run, a store URL's password removed (the tool takes no other secret on
    /// the command line), with the user and host that ran it: recorded on the report's cover.
    static func current() -> EvidenceDocument.Invocation {
        let args = CommandLine.arguments.enumerated().map { i, arg -> String in
            let shown = i == 0 ? "access-evidence" : redactedStoreLocation(arg)
            return shown.isEmpty || shown.contains(where: { " \"'\\$`".contains($0) }) ? "'" + shown.replacingOccurrences(of: "'", with: "'\\''") + "'" : shown
        }
        var user = ProcessInfo.processInfo.environment["USER"] ?? ""
        if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { user = String(cString: name) }
        var host = [CChar](repeating: 0, count: 256)
        let hostName = gethostname(&host, host.count) == 0
            ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return EvidenceDocument.Invocation(commandLine: args.joined(separator: " "), user: user, host: hostName)
    }
}
