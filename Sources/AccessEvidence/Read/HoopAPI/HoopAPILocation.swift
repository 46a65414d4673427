import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `hoop+https://HOST[:PORT][/api]`: hoop's HTTP API as a store (hoop-store.md §4). The address
/// names the gateway only: a token in it (user info, a query) is refused, because a command line is
/// visible to every user of the machine and lands in shell histories and the report's invocation.
public struct HoopAPILocation: Sendable, Equatable {
    public static let scheme = "hoop+"

    public var secure: Bool
    public var host: String
    public var port: Int
    /// The API's base path, `/api` unless the URL names another.
    public var basePath: String

    public static func isHoopAPI(_ location: String) -> Bool {
        let lower = location.prefix(13).lowercased()
        return lower.hasPrefix("hoop+https://") || lower.hasPrefix("hoop+http://")
    }

    /// The URL without anything secret: what reports, errors and manifests show.
    public var display: String {
        let defaultPort = secure ? 443 : 80
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "hoop+\(secure ? "https" : "http")://\(shownHost)\(port == defaultPort ? "" : ":\(port)")\(basePath)"
    }

    /// The HTTP URL of `path` under the base path (`path` starts with `/`).
    public func url(_ path: String) -> String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "https" : "http")://\(shownHost):\(port)\(basePath)\(path)"
    }

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public static func parse(_ location: String) throws -> HoopAPILocation {
        guard isHoopAPI(location) else { throw Invalid(description: "--store: not a hoop+https:// URL") }
        // The scheme in lower case (`HOOP+HTTPS://` is the same address); the rest as given.
        var url = String(location.dropFirst(scheme.count))
        if let separator = url.range(of: "://") { url = url[..<separator.lowerBound].lowercased() + url[separator.lowerBound...] }
        // Never echo the URL itself in these errors: it may hold the very secret being refused.
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            throw Invalid(description: "--store: a hoop API address is hoop+https://HOST[:PORT][/api]")
        }
        if components.user != nil || components.password != nil || components.query != nil || components.fragment != nil {
            throw Invalid(description: "--store: the hoop API address carries credentials or parameters; give only hoop+https://HOST[:PORT][/api] and the token in HOOP_API_TOKEN, --token-file or the configuration file")
        }
        let secure = components.scheme == "https"
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        if path.isEmpty { path = "/api" }
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }) else {
            throw Invalid(description: "--store: the hoop API base path must be plain ASCII, like /api")
        }
        let port = components.port ?? (secure ? 443 : 80)
        guard (1...65535).contains(port) else { throw Invalid(description: "--store: port \(port) is out of range") }
        let location = HoopAPILocation(secure: secure, host: host, port: port, basePath: path)
        if !secure, !isLoopback(host) {
            throw Invalid(description: "--store: plain http is allowed only to this machine (127.0.0.1, ::1, localhost); \(location.display) would send the token unencrypted: use hoop+https://")
        }
        return location
    }

    /// 127.0.0.0/8, ::1 and `localhost`: the only places a token may travel unencrypted.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return false }
        return parts[0] == "127"
    }
}

/// The API token: from `--token-file` (refused when its group or others may read it, as libpq
/// refuses such a `.pgpass`), else `HOOP_API_TOKEN`. It is held only to be sent in the
/// `Authorization` header; `description` never shows it.
public struct HoopAPIToken: Sendable, CustomStringConvertible {
    let value: String
    /// Where it came from, for messages (`HOOP_API_TOKEN`, or the file's path).
    public let origin: String

    public var description: String { "(token from \(origin))" }

    init(value: String, origin: String) {
        self.value = value
        self.origin = origin
    }

    public static func resolve(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HoopAPIToken {
        if let file {
            let text: String
            switch SecretFile.read(file) {
            case .failure(.cannotRead(let reason)): throw StoreError.unreadable(path: "--token-file \(file)", reason: reason)
            case .failure(.notARegularFile): throw StoreError.unreadable(path: "--token-file \(file)", reason: "not a regular file")
            case .failure(.exposed(let mode)):
                // The path follows the option, not the other way round: `…/token: value` reads as a secret to the output gate.
                throw StoreError.permissionDenied(source: "--token-file", reason: "\(file) is readable by its group or others (mode \(String(mode, radix: 8))); chmod 600 it")
            case .failure(.tooLarge): throw StoreError.unreadable(path: "--token-file \(file)", reason: "not a text file of a token")
            case .success(let value): text = value
            }
            return try checked(text, origin: file)
        }
        if let value = environment["HOOP_API_TOKEN"] { return try checked(value, origin: "HOOP_API_TOKEN") }
        throw StoreError.permissionDenied(source: "hoop API", reason: "no token: set HOOP_API_TOKEN, give --token-file FILE (mode 600), or store_password_file in the configuration file")
    }

    static func checked(_ text: String, origin: String) throws -> HoopAPIToken {
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw StoreError.permissionDenied(source: origin, reason: "the hoop API token is empty") }
        // A header value cannot hold control characters or spaces: refused here instead of by the
        // HTTP library, whose error could quote it.
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw StoreError.permissionDenied(source: origin, reason: "the hoop API token holds spaces, control or non-ASCII characters")
        }
        return HoopAPIToken(value: token, origin: origin)
    }

    /// The header value the transport sends.
    public var authorization: String { "Bearer \(value)" }
}
