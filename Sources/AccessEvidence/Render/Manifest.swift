import Crypto
import Foundation

/// `manifest.json`: every file of a report folder with its SHA-256 and size, plus what the report
/// was made from. Signed with Ed25519 into `manifest.sig`, it lets an auditor check that nothing in
/// the folder changed since it was generated.
public struct Manifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var sha256: String
        public var size: Int
    }

    public var schemaVersion: String
    public var tool: String
    public var toolVersion: String
    public var generatedAt: String
    public var period: String
    public var source: String
    public var sourceSHA256: String?
    public var catalogSHA256: String
    /// Input files that change results (roster, accepted exceptions) with their SHA-256; absent when none.
    public var inputs: [EvidenceDocument.InputFile]?
    public var files: [File]

    public static let fileName = "manifest.json"
    public static let signatureName = "manifest.sig"

    /// Lists every file in `directory` and its folders (`populations/…`), hashing each in chunks.
    /// `hashed`: files whose SHA-256 the run took as it wrote them (by name), used when the file on
    /// disk still has the size written; any other file is read and hashed here.
    public init(directory: URL, document: EvidenceDocument, hashed: [String: File] = [:]) throws {
        let names = try OutputGuard.recursiveFiles(directory.path, prefix: "").sorted()
        var files: [File] = []
        for name in names {
            let path = directory.appendingPathComponent(name).path
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            if let known = hashed[name], known.size == size {
                files.append(known)
                continue
            }
            files.append(File(name: name, sha256: try FileHash.sha256(path: path), size: size))
        }
        self.init(files: files, document: document)
    }

    public init(files: [File], document: EvidenceDocument) {
        schemaVersion = "1.0"
        tool = "access-evidence"
        toolVersion = document.tool.version
        generatedAt = document.generatedAt
        period = "\(document.period.label) [\(document.period.start), \(document.period.end))"
        source = document.source.location
        sourceSHA256 = document.source.sha256
        catalogSHA256 = document.catalog.sha256
        inputs = document.inputs.isEmpty ? nil : document.inputs
        self.files = files.sorted { $0.name < $1.name }
    }

    public func encoded() throws -> Data { try CanonicalJSON.encode(self) }
}

func sha256Hex<D: DataProtocol>(_ data: D) -> String {
    Hex.encode(SHA256.hash(data: data))
}

/// Ed25519 keys in the forms people have: PEM from `openssl genpkey -algorithm ed25519` (PKCS#8 and
/// SubjectPublicKeyInfo), or the raw 32 bytes in base64.
public enum SigningKeys {
    static let pkcs8Prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    static func keyBytes(path: String, prefix: [UInt8], what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw SigningError("\(path): cannot read the \(what)")
        }
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
            .trimmingCharacters(in: .whitespaces)
        guard let decoded = Data(base64Encoded: body).map(Array.init) else {
            throw SigningError("\(path): the \(what) is neither PEM nor base64")
        }
        if decoded.count == 32 { return decoded }
        if decoded.count == prefix.count + 32, Array(decoded.prefix(prefix.count)) == prefix { return Array(decoded.suffix(32)) }
        throw SigningError("\(path): not an Ed25519 \(what)")
    }

    public static func privateKey(path: String) throws -> Curve25519.Signing.PrivateKey {
        let raw = try keyBytes(path: path, prefix: pkcs8Prefix, what: "private key")
        do { return try Curve25519.Signing.PrivateKey(rawRepresentation: raw) } catch {
            throw SigningError("\(path): not an Ed25519 private key")
        }
    }

    public static func publicKey(path: String) throws -> Curve25519.Signing.PublicKey {
        let raw = try keyBytes(path: path, prefix: spkiPrefix, what: "public key")
        do { return try Curve25519.Signing.PublicKey(rawRepresentation: raw) } catch {
            throw SigningError("\(path): not an Ed25519 public key")
        }
    }

    static func pem(_ label: String, _ bytes: [UInt8]) -> String {
        let b64 = Data(bytes).base64EncodedString()
        return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
    }

    /// A new key pair as PEM: (private, public).
    public static func generate() -> (String, String) {
        let key = Curve25519.Signing.PrivateKey()
        return (pem("PRIVATE KEY", pkcs8Prefix + Array(key.rawRepresentation)),
                pem("PUBLIC KEY", spkiPrefix + Array(key.publicKey.rawRepresentation)))
    }
}

public struct SigningError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}

/// Checks a report folder against its manifest (and signature).
public enum ManifestVerifier {
    public struct Result: Sendable {
        public var problems: [String]
        public var checked: Int
        public var signature: String
        public var ok: Bool { problems.isEmpty }
    }

    public static func verify(directory: String, publicKey: String?) throws -> Result {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw SigningError("\(directory): not a folder")
        }
        let dir = URL(fileURLWithPath: directory)
        let manifestURL = dir.appendingPathComponent(Manifest.fileName)
        guard case .file(let size) = OutputGuard.entry(manifestURL.path), size <= maxManifestBytes,
              let manifestData = FileManager.default.contents(atPath: manifestURL.path) else {
            throw SigningError("\(directory): no \(Manifest.fileName) (a regular file of at most 64 MiB)")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: manifestData) } catch {
            throw SigningError("\(manifestURL.path): not a manifest")
        }
        var problems: [String] = []
        var listed = Set<String>()
        for file in manifest.files {
            let shown = OutputGate.text(file.name)
            // Only regular files inside the folder are ever read: no absolute paths, no `..`, no
            // symbolic links, whatever the manifest says.
            guard isInsideName(file.name) else {
                problems.append("\(shown): not a path inside the folder; not read")
                continue
            }
            // A manifest listing a file twice describes no folder that was written.
            guard listed.insert(file.name).inserted else {
                problems.append("\(shown): listed more than once in the manifest")
                continue
            }
            let path = dir.appendingPathComponent(file.name).path
            if let problem = notARegularFile(file.name, in: dir) {
                problems.append("\(shown): \(problem)")
                continue
            }
            let digest = try FileHash.sha256(path: path)
            let actual = OutputGuard.entry(path)
            if digest != file.sha256 || actual != .file(size: Int64(file.size)) {
                problems.append("\(shown): changed (SHA-256 \(digest), manifest says \(file.sha256))")
            }
        }
        let present = (try? OutputGuard.recursiveFiles(directory, prefix: "")) ?? []
        for name in present where !listed.contains(name) && name != Manifest.fileName && name != Manifest.signatureName {
            problems.append("\(OutputGate.text(name)): not in the manifest")
        }
        var signature = "not signed"
        let sigPath = dir.appendingPathComponent(Manifest.signatureName).path
        let sigData: Data? = {
            guard case .file(let size) = OutputGuard.entry(sigPath), size <= 4096 else { return nil }
            return FileManager.default.contents(atPath: sigPath)
        }()
        if let publicKey {
            let key = try SigningKeys.publicKey(path: publicKey)
            if let sigData, let sig = Data(base64Encoded: String(decoding: sigData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
               key.isValidSignature(sig, for: manifestData) {
                signature = "valid Ed25519 signature"
            } else {
                problems.append(sigData == nil ? "\(Manifest.signatureName): missing" : "\(Manifest.signatureName): the signature does not match the manifest and key")
                signature = "invalid"
            }
        } else if sigData != nil {
            signature = "signed (give --public-key to check the signature)"
        }
        return Result(problems: problems, checked: manifest.files.count, signature: signature)
    }

    static let maxManifestBytes: Int64 = 64 << 20

    /// A relative path of plain components: no leading `/`, no empty, `.` or `..` component, no NUL.
    static func isInsideName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\0") else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// Why `name` below `dir` is not a regular file reached through folders only, or nil when it is.
    static func notARegularFile(_ name: String, in dir: URL) -> String? {
        var path = dir.path
        let parts = name.split(separator: "/").map(String.init)
        for (k, part) in parts.enumerated() {
            path = (path as NSString).appendingPathComponent(part)
            switch OutputGuard.entry(path) {
            case .absent: return "missing"
            case .folder where k < parts.count - 1: continue
            case .file where k == parts.count - 1: return nil
            case .other(let what): return "is \(what); not followed"
            case .folder: return "is a folder, not a file"
            case .file: return "is a file, not a folder"
            }
        }
        return "missing"
    }
}

/// The size of every output of a report folder, for the run's closing lines.
public enum OutputSizes {
    public static func lines(folder: String) -> [String] {
        guard let names = try? OutputGuard.recursiveFiles(folder, prefix: "") else { return [] }
        var populations = (count: 0, bytes: 0)
        var out: [String] = []
        for name in names.sorted() {
            let size = ((try? FileManager.default.attributesOfItem(atPath: (folder as NSString).appendingPathComponent(name)))?[.size] as? NSNumber)?.intValue ?? 0
            if name.hasPrefix(PopulationFiles.folder + "/") { populations.count += 1; populations.bytes += size; continue }
            out.append("\(name): \(format(size))")
        }
        if populations.count > 0 { out.append("\(PopulationFiles.folder)/: \(populations.count) files, \(format(populations.bytes))") }
        return out
    }

    static func format(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / 1_048_576) : bytes >= 1024 ? String(format: "%.1f kB", Double(bytes) / 1024) : "\(bytes) bytes"
    }
}
