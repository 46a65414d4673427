import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file of the shipped defaults, compiled in by the EmbedDefaults build plugin.
public struct EmbeddedFile: Sendable {
    public let name: String
    let base64: String

    /// The file's bytes exactly as they are in the repository.
    public var data: Data {
        guard let data = Data(base64Encoded: base64) else { preconditionFailure("embedded \(name) is not base64") }
        return data
    }
}

/// The catalog (`Controls/`) and report templates (`Templates/`) the tool ships with, built into the
/// binary so it runs from anywhere, with no source tree and no environment variable. `--controls` and
/// `--templates` replace them; `controls export` and `templates export` write them out as the
/// starting point for an organization's own.
public enum BuiltInDefaults {
    /// How a built-in file is named in messages: not a path the user could look for on disk.
    public static func origin(_ folder: String, _ name: String) -> String { "built-in \(folder)/\(name)" }

    public static var controls: [EmbeddedFile] { controlFiles }
    public static var templates: [EmbeddedFile] { templateFiles }

    /// The catalog's fingerprint as `CatalogLoader` computes it for a folder holding these files, so
    /// `--version` names the hash a report records.
    public static var catalogSHA256: String { CatalogLoader.fingerprint(controls.map { ($0.name, $0.data) }) }

    /// The built-in catalog's frameworks, titles and versions, read from their files' top-level keys
    /// without parsing the whole catalog (for `--version`): SOC 2 first, then by file name.
    public static var catalogVersion: String {
        var frameworks: [(key: String, text: String)] = []
        for file in controls {
            let text = String(decoding: file.data, as: UTF8.self)
            guard CatalogLoader.holdsCriteria(text) else { continue }
            let lines = text.split(whereSeparator: \.isNewline)
            func value(_ key: String) -> String? {
                lines.first { $0.hasPrefix(key + ":") }.map {
                    $0.dropFirst(key.count + 1).trimmed(.whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                }
            }
            frameworks.append((value("framework") ?? "", [value("title"), value("version")].compactMap { $0 }.joined(separator: " ")))
        }
        let ordered = frameworks.filter { $0.key == Framework.defaultID } + frameworks.filter { $0.key != Framework.defaultID }
        return ordered.isEmpty ? "unknown" : ordered.map(\.text).joined(separator: "; ")
    }

    /// Writes `files` into `directory`, which must not exist or be empty: an organization's edited
    /// copy is never overwritten. On failure, the files written so far (and the folder, if this
    /// created it) are removed.
    public static func export(_ files: [EmbeddedFile], to directory: String, option: String) throws -> [String] {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        var created = false
        if fm.fileExists(atPath: directory, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw OutputError(path: directory, reason: "exists and is not a folder", usage: true) }
            guard (try fm.contentsOfDirectory(atPath: directory)).isEmpty else {
                throw OutputError(path: directory, reason: "is not empty: \(option) writes only into a new or empty folder", usage: true)
            }
        } else {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: false)
            created = true
        }
        var written: [String] = []
        do {
            for file in files {
                let path = URL(fileURLWithPath: directory).appendingPathComponent(file.name).path
                // O_EXCL: a file that appeared meanwhile is not ours to replace.
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw OutputError(path: path, reason: String(cString: strerror(errno)), what: "the file") }
                written.append(path)
                let bytes = [UInt8](file.data)
                let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                let failure = count == bytes.count ? nil : String(cString: strerror(count < 0 ? errno : ENOSPC))
                guard close(fd) == 0, failure == nil else {
                    throw OutputError(path: path, reason: failure ?? String(cString: strerror(errno)), what: "the file")
                }
            }
        } catch {
            for path in written { try? fm.removeItem(atPath: path) }
            // rmdir, not a recursive remove: anything another process put there meanwhile stays.
            if created { _ = rmdir(directory) }
            throw error
        }
        return written
    }
}
