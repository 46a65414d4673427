import Foundation

/// Finds the folders the tool ships with (`Controls/`, `Templates/`) when no option names them:
/// the working directory first, then up from the executable (a build inside the repository),
/// then `share/access-evidence` beside an installed binary.
public enum Locations {
    public static func defaultFolder(_ name: String, probe: String) -> String {
        let fm = FileManager.default
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(name)
        if fm.fileExists(atPath: cwd.appendingPathComponent(probe).path) { return cwd.path }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            for candidate in [dir.appendingPathComponent(name), dir.appendingPathComponent("share/access-evidence/\(name)")]
            where fm.fileExists(atPath: candidate.appendingPathComponent(probe).path) {
                return candidate.path
            }
            dir = dir.deletingLastPathComponent()
        }
        return cwd.path
    }

    public static var templates: String {
        ProcessInfo.processInfo.environment["ACCESS_EVIDENCE_TEMPLATES"] ?? defaultFolder("Templates", probe: "report.mustache")
    }

    public static var controls: String {
        ProcessInfo.processInfo.environment["ACCESS_EVIDENCE_CONTROLS"] ?? defaultFolder("Controls", probe: "soc2-tsc-2017.yaml")
    }
}
