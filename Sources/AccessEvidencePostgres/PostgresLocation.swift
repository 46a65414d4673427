import Foundation

/// A `postgres://` store argument resolved as libpq resolves it: the URL first, then the
/// `PG*` environment variables, then `~/.pgpass` (or `PGPASSFILE`) for the password.
/// `display` is what errors, logs and reports show; it never carries the password.
public struct PostgresLocation: Sendable, Equatable {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var sslMode: SSLMode
    /// CA bundle for `verify-ca` and `verify-full`.
    public var sslRootCert: String?
    /// A directory holding the server's Unix socket, when `host` starts with `/`.
    public var socketDirectory: String? { host.hasPrefix("/") ? host : nil }

    public var display: String {
        let where_ = socketDirectory.map { "[\($0)]" } ?? (host.contains(":") ? "[\(host)]" : host)
        return "postgres://\(user)@\(where_):\(port)/\(database)"
    }

    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Parses `postgres://[user[:password]@][host][:port][/database][?sslmode=…&sslrootcert=…&host=…]`.
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                             home: String = NSHomeDirectory()) throws -> PostgresLocation {
        guard isPostgres(text), let components = URLComponents(string: text.replacingOccurrences(of: "postgresql://", with: "postgres://")) else {
            throw Invalid(description: "--store: not a postgres:// URL (postgres://user@host:port/database?sslmode=…)")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        let known: Set<String> = ["sslmode", "sslrootcert", "host", "port", "user", "dbname", "application_name", "connect_timeout"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw Invalid(description: "--store: unknown connection parameter '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let host = nonEmpty(query["host"]) ?? nonEmpty(components.host) ?? nonEmpty(environment["PGHOST"]) ?? "localhost"
        let portText = nonEmpty(query["port"]) ?? components.port.map(String.init) ?? nonEmpty(environment["PGPORT"]) ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw Invalid(description: "--store: port '\(portText)' is not a TCP port")
        }
        let user = nonEmpty(query["user"]) ?? nonEmpty(components.user) ?? nonEmpty(environment["PGUSER"])
            ?? nonEmpty(environment["USER"]) ?? "postgres"
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = nonEmpty(query["dbname"]) ?? nonEmpty(path) ?? nonEmpty(environment["PGDATABASE"]) ?? user
        let modeText = nonEmpty(query["sslmode"]) ?? nonEmpty(environment["PGSSLMODE"]) ?? "prefer"
        guard let mode = SSLMode(rawValue: modeText) else {
            throw Invalid(description: "--store: sslmode '\(modeText)' is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var location = PostgresLocation(host: host, port: port, user: user, database: database, password: nil, sslMode: mode,
                                        sslRootCert: nonEmpty(query["sslrootcert"]) ?? nonEmpty(environment["PGSSLROOTCERT"]))
        location.password = components.password ?? nonEmpty(environment["PGPASSWORD"])
            ?? PassFile.password(for: location, path: nonEmpty(environment["PGPASSFILE"]) ?? home + "/.pgpass")
        return location
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}

/// `~/.pgpass`: `hostname:port:database:username:password`, `*` matching anything, `\:` and `\\`
/// escaped; the first matching line wins. Like libpq, a file others can read is ignored.
enum PassFile {
    static func password(for location: PostgresLocation, path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue,
              permissions & 0o077 == 0,
              let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let host = location.socketDirectory == nil ? location.host : "localhost"
        let wanted = [host, String(location.port), location.database, location.user]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = split(String(line))
            guard fields.count == 5 else { continue }
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    static func split(_ line: String) -> [String] {
        var fields: [String] = [], current = ""
        var escaped = false
        for c in line {
            if escaped { current.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == ":" {
                fields.append(current)
                current = ""
            } else { current.append(c) }
        }
        fields.append(current)
        return fields
    }
}
