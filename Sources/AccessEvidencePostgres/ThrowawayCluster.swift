import AccessEvidence
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of its own in a temporary directory, listening on loopback only, run as a
/// non-root user, with password (SCRAM) authentication: for the tests and the PostgreSQL benchmark.
/// Debian's `postgresql` package is installed when no server binaries are found and we may.
public final class ThrowawayCluster: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public let directory: String
    public private(set) var port = 0
    public let superuser = "evidence_admin"
    public let password: String
    let bin: String
    /// The user the server runs as when we are root (PostgreSQL refuses to run as root).
    let runAs: String?
    var running = false

    /// With `tls`, the server also accepts TLS with a self-signed certificate for 127.0.0.1,
    /// at `certificate` (which is its own CA).
    public init(tls: Bool = false) throws {
        bin = try Self.serverBinaries()
        runAs = geteuid() == 0 ? "nobody" : nil
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("access-evidence-pg-\(UUID().uuidString.prefix(8))").path
        directory = base
        password = UUID().uuidString
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let passwordFile = base + "/pwfile"
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: passwordFile))
        if let runAs { try Self.run("/bin/chown", ["-R", runAs, base]) }
        try command("initdb", ["-D", base + "/data", "-U", superuser, "--pwfile=" + passwordFile, "--auth-local=scram-sha-256",
                               "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        try? FileManager.default.removeItem(atPath: passwordFile)
        var tlsSettings = ""
        if tls {
            try Self.run("/usr/bin/openssl", ["req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=127.0.0.1",
                                              "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", base + "/server.key",
                                              "-out", base + "/server.crt"])
            if let runAs { try Self.run("/bin/chown", [runAs, base + "/server.key", base + "/server.crt"]) }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: base + "/server.key")
            tlsSettings = " -c ssl=on -c ssl_cert_file=\(base)/server.crt -c ssl_key_file=\(base)/server.key"
        }
        var lastError: Error?
        for _ in 0..<5 {
            let candidate = try Self.freePort()
            do {
                try command("pg_ctl", ["-D", base + "/data", "-l", base + "/server.log", "-w", "-t", "60", "-o",
                                       "-c listen_addresses=127.0.0.1 -c port=\(candidate) -c unix_socket_directories=\(base) "
                                       + "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" + tlsSettings, "start"])
                port = candidate
                running = true
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? Failure(description: "could not start PostgreSQL")
    }

    deinit { stop() }

    /// The server's self-signed certificate, when started with `tls`.
    public var certificate: String { directory + "/server.crt" }

    /// A URL for `database` as the superuser (password included: for the code that runs the cluster only).
    public func location(database: String = "postgres") -> PostgresLocation {
        PostgresLocation(host: "127.0.0.1", port: port, user: superuser, database: database, password: password,
                         sslMode: .disable, sslRootCert: nil)
    }

    /// The URL without the password, for arguments; give `password` through PGPASSWORD.
    public func url(database: String) -> String { "postgres://\(superuser)@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    public func createDatabase(_ name: String) throws {
        let session = try PostgresSession(location())
        defer { session.close() }
        try session.execute("CREATE DATABASE \(name)", during: "creating database \(name)")
    }

    /// Runs statements as the superuser in `database` (for roles, grants and tests that break things on purpose).
    public func execute(_ statements: [String], database: String = "postgres") throws {
        let session = try PostgresSession(location(database: database))
        defer { session.close() }
        for sql in statements { try session.execute(sql, during: "running set-up SQL") }
    }

    public func stop() {
        guard running else { return }
        running = false
        try? command("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    func command(_ name: String, _ arguments: [String]) throws {
        if let runAs {
            try Self.run("/usr/sbin/runuser", ["-u", runAs, "--", bin + "/" + name] + arguments)
        } else {
            try Self.run(bin + "/" + name, arguments)
        }
    }

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let result = try ChildProcess.run(executable, arguments, environment: environment)
        guard result.succeeded else {
            let last = result.output.split(separator: "\n").last.map(String.init) ?? ""
            throw Failure(description: "\((executable as NSString).lastPathComponent) \(arguments.first ?? "") failed (\(result.status)): \(last)")
        }
    }

    /// The newest `/usr/lib/postgresql/N/bin`, installing Debian's `postgresql` when none is there.
    static func serverBinaries() throws -> String {
        if let found = newestBinaries() { return found }
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/apt-get") else {
            throw Failure(description: "no PostgreSQL server binaries under /usr/lib/postgresql; install Debian's postgresql package")
        }
        let env = ["DEBIAN_FRONTEND": "noninteractive"]
        try? run("/usr/bin/apt-get", ["update", "-qq"], environment: env)
        try run("/usr/bin/apt-get", ["install", "-y", "-qq", "--no-install-recommends", "postgresql"], environment: env)
        guard let found = newestBinaries() else { throw Failure(description: "postgresql installed, but no initdb under /usr/lib/postgresql") }
        return found
    }

    static func newestBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.reversed().map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    /// A port nothing listens on now (the kernel's choice for an ephemeral bind).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure(description: "cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

extension ThrowawayCluster {
    /// Runs `body` with a new cluster, stopped and removed however `body` ends; interrupted, the
    /// cluster's folder goes too (the server stops once its data folder is gone).
    public static func during<T>(_ body: (ThrowawayCluster) throws -> T) throws -> T {
        let cluster = try ThrowawayCluster()
        Cleanup.shared.removeOnStop(cluster.directory)
        defer {
            cluster.stop()
            Cleanup.shared.forget(cluster.directory)
        }
        return try body(cluster)
    }
}
