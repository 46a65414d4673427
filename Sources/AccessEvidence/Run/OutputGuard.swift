import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Decides whether the tool may write where it was asked to. The user's files and the store are
/// never replaced, moved or deleted: an output path is replaced only when it is absent, empty, or
/// something this tool wrote (recognised by its content), and only when it is a regular file or a
/// folder — never a symbolic link, device, FIFO or socket.
public enum OutputGuard {
    /// What is at a path, without following a final symbolic link.
    enum Entry: Equatable {
        case absent
        case file(size: Int64)
        case folder
        case other(String)
    }

    static func entry(_ path: String) -> Entry {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .absent }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .file(size: Int64(st.st_size))
        case S_IFDIR: return .folder
        case S_IFLNK: return .other("a symbolic link")
        case S_IFIFO: return .other("a FIFO")
        case S_IFCHR, S_IFBLK: return .other("a device")
        case S_IFSOCK: return .other("a socket")
        default: return .other("not a regular file or folder")
        }
    }

    /// `--out` of `report`: absent, an empty folder, or a report folder this tool wrote whose every
    /// file its manifest lists (a folder holding anything else is the user's, and stays).
    public static func checkReportFolder(_ path: String, option: String = "--out") throws {
        switch entry(path) {
        case .absent: return
        case .file: throw refused(path, option, "is a file, not a report folder")
        case .other(let what): throw refused(path, option, "is \(what); only a folder is replaced")
        case .folder: break
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw OutputError(path: path, reason: "cannot list the folder (\(OutputError.describe(error)))")
        }
        if names.isEmpty { return }
        guard names.contains(Manifest.fileName),
              let data = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent(Manifest.fileName)),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data), manifest.tool == "access-evidence" else {
            throw refused(path, option, "holds files that are not an access-evidence report (\(listed(names))); it is never replaced. Choose a new or empty folder")
        }
        let ours = Set(manifest.files.map { $0.name.split(separator: "/").first.map(String.init) ?? $0.name })
            .union([Manifest.fileName, Manifest.signatureName])
        let foreign = names.filter { !ours.contains($0) }
        if !foreign.isEmpty {
            throw refused(path, option, "is a report folder, but also holds files the report did not write (\(listed(foreign))); move them out first")
        }
        // Nested entries the manifest names must be ours too: a folder of the report holding a
        // symbolic link or a foreign file would be deleted with it.
        for name in names where entry((path as NSString).appendingPathComponent(name)) == .folder {
            let listedInside = Set(manifest.files.map(\.name).filter { $0.hasPrefix(name + "/") })
            let inside = try recursiveFiles((path as NSString).appendingPathComponent(name), prefix: name + "/")
            let strangers = inside.filter { !listedInside.contains($0) }
            if !strangers.isEmpty {
                throw refused(path, option, "is a report folder, but also holds files the report did not write (\(listed(strangers))); move them out first")
            }
        }
    }

    /// Every entry below `folder`, as `prefix` + relative path; symbolic links and other non-files are listed as found.
    public static func recursiveFiles(_ folder: String, prefix: String) throws -> [String] {
        var out: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
            let full = (folder as NSString).appendingPathComponent(name)
            if entry(full) == .folder { out += try recursiveFiles(full, prefix: prefix + name + "/") } else { out.append(prefix + name) }
        }
        return out
    }

    /// An output folder other than a report (`sample-data --gateway teleport --out`): absent, empty, or
    /// recognised by `isOurs` as one this tool wrote, and not reached through a symbolic link.
    public static func checkReplaceableFolder(_ path: String, option: String, what: String, isOurs: (String) -> Bool) throws {
        switch entry(path) {
        case .absent: return
        case .file: throw refused(path, option, "is a file; \(what) is a folder")
        case .other(let kind): throw refused(path, option, "is \(kind); only a folder this tool wrote is replaced")
        case .folder:
            if (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true { return }
            guard isOurs(path) else {
                throw refused(path, option, "exists and is not \(what) this tool wrote; it is never replaced. Choose another path")
            }
        }
    }

    /// A single output file (`sample-data --out`, `snapshot --out`, `--ground-truth`, …): absent,
    /// empty, or recognised by `isOurs` as one this tool wrote.
    public static func checkReplaceableFile(_ path: String, option: String, what: String, isOurs: (String) -> Bool) throws {
        switch entry(path) {
        case .absent, .file(size: 0): return
        case .folder: throw refused(path, option, "is a folder; \(what) is a file")
        case .other(let kind): throw refused(path, option, "is \(kind); only a regular file is replaced")
        case .file:
            guard isOurs(path) else {
                throw refused(path, option, "exists and is not \(what) this tool wrote; it is never replaced. Choose another path")
            }
        }
    }

    /// A file that is never replaced once it exists (keys).
    public static func checkAbsent(_ path: String, option: String, what: String) throws {
        guard entry(path) == .absent else { throw refused(path, option, "exists; \(what) is never overwritten. Choose another path") }
    }

    /// Whether `path` is an SQLite file holding `table`. Opened immutable: a plain read-only open of a
    /// WAL-mode file of the user's would create `-wal`/`-shm` beside it.
    public static func sqliteHasTable(_ path: String, _ table: String) -> Bool {
        guard isSQLite(path), let db = try? SQLiteDatabase(path: path, mode: .immutable) else { return false }
        return ((try? db.scalarInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", bind: [.text(table)])) ?? 0) > 0
    }

    static func isSQLite(_ path: String) -> Bool {
        guard case .file = entry(path), let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 16)) == Data("SQLite format 3\0".utf8)
    }

    /// One path a run reads (`--store`, `--roster`, …) or writes (`--out`, `--state`, …).
    public struct Use: Sendable {
        public var option: String
        public var path: String
        public var isFolder: Bool
        public init(_ option: String, _ path: String, folder: Bool = false) {
            self.option = option
            self.path = path
            isFolder = folder
        }
    }

    /// Refuses a run whose outputs would land on, or replace a folder holding, one of its inputs
    /// (the store given as the alert state, a roster inside the report folder, …), and outputs that
    /// collide with each other.
    public static func checkDistinct(inputs: [Use], outputs: [Use]) throws {
        for (i, output) in outputs.enumerated() {
            let target = canonical(output.path)
            for input in inputs {
                let source = canonical(input.path)
                if source == target || sameFile(input.path, output.path) {
                    throw OutputError(path: output.path, reason: "\(output.option) names the same file as \(input.option); \(input.option) is only ever read", usage: true)
                }
                if output.isFolder, source.hasPrefix(target + "/") {
                    throw OutputError(path: output.path, reason: "\(input.option) \(input.path) lies inside \(output.option), which the run replaces; choose another folder", usage: true)
                }
                if input.isFolder, target.hasPrefix(source + "/") {
                    throw OutputError(path: output.path, reason: "\(output.option) lies inside \(input.option) \(input.path), which is only ever read; choose another path", usage: true)
                }
            }
            for other in outputs[(i + 1)...] where canonical(other.path) == target || (output.isFolder && canonical(other.path).hasPrefix(target + "/")) {
                throw OutputError(path: other.path, reason: "\(other.option) and \(output.option) name the same place", usage: true)
            }
        }
    }

    /// An absolute path with symbolic links of its existing part resolved, so two spellings of one
    /// place compare equal.
    static func canonical(_ path: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        var existing = absolute
        var rest: [String] = []
        while !existing.isEmpty, existing != "/", entry(existing) == .absent {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var resolved = existing
        if let real = realpath(existing, nil) {
            resolved = String(cString: real)
            free(real)
        }
        return rest.reduce(resolved) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// Same device and inode: one file under two names (hard link).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }

    static func listed(_ names: [String]) -> String {
        let sorted = names.sorted()
        let shown = sorted.prefix(5).map(OutputGate.text).joined(separator: ", ")
        return sorted.count > 5 ? "\(shown), and \(sorted.count - 5) more" : shown
    }

    static func refused(_ path: String, _ option: String, _ reason: String) -> OutputError {
        OutputError(path: path, reason: "\(option) \(reason)", refused: true)
    }
}
