import AccessEvidence
import AccessEvidencePostgres
import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes (documented in README.md; cron jobs depend on them).
enum Exit {
    static let ok: Int32 = 0
    static let exceptionsFound: Int32 = 1
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let noInput: Int32 = 66
    static let internalError: Int32 = 70
    static let unavailable: Int32 = 69
    static let cannotWrite: Int32 = 73
    static let tryAgain: Int32 = 75
    static let permissionDenied: Int32 = 77
}

/// One line for any error: file-system errors without Foundation's user-info dump.
func describe(_ error: any Error) -> String {
    if error is CocoaError || error is POSIXError || (error as NSError).domain == NSPOSIXErrorDomain {
        let path = ((error as NSError).userInfo[NSFilePathErrorKey] as? String).map { "\($0): " } ?? ""
        return path + OutputError.describe(error)
    }
    return "\(error)"
}

/// Options given twice are refused: the parser would silently keep the last one, and a cron line
/// with `--out a … --out b` should not quietly write only one of them.
func rejectRepeatedOptions(_ arguments: ArraySlice<String>) throws {
    var seen = Set<String>()
    for argument in arguments {
        if argument == "--" { break }
        guard argument.hasPrefix("--"), argument.count > 2 else { continue }
        let name = String(argument.split(separator: "=", maxSplits: 1).first ?? Substring(argument))
        if seen.insert(name).inserted { continue }
        throw ValidationError("\(name) is given more than once")
    }
}

/// Everything the tool says on stderr passes the output gate line by line (paths and values from
/// the store are quoted in errors); line ends and a progress line's leading carriage return are ours.
func stderrWrite(_ s: String) {
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        line.hasPrefix("\r") ? "\r" + OutputGate.text(String(line.dropFirst())) : OutputGate.text(String(line))
    }
    FileHandle.standardError.write(Data(lines.joined(separator: "\n").utf8))
}

/// Maps errors to one line on stderr and a documented exit code.
func exitCode(for error: Error) -> Int32 {
    switch error {
    case let e as StoreError:
        switch e {
        case .notFound, .unreadable: return Exit.noInput
        case .unavailable: return Exit.unavailable
        case .permissionDenied: return Exit.permissionDenied
        default: return Exit.dataError
        }
    case is CatalogError, is RosterError, is SigningError: return Exit.dataError
    case is XLSXError: return Exit.cannotWrite
    case is TemplateError: return Exit.dataError
    case let e as AlertError:
        switch e {
        case .state: return Exit.dataError
        case .locked, .delivery: return Exit.tryAgain
        }
    case is PeriodError, is PostgresLocation.Invalid, is HoopAPILocation.Invalid, is OrganizationError: return Exit.usage
    case let e as OutputError: return e.usage ? Exit.usage : Exit.cannotWrite
    case is CocoaError, is POSIXError: return Exit.cannotWrite
    default: return Exit.internalError
    }
}
