import Foundation
import PackagePlugin

/// Records the git commit the executable is built from, for `--version`. The command reruns when
/// HEAD moves: git appends to `logs/HEAD` on every commit, checkout and reset.
@main
struct EmbedBuildCommit: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildCommit.swift")
        return [.buildCommand(
            displayName: "Recording the git commit of \(target.name)",
            executable: try context.tool(named: "embed-defaults").url,
            arguments: ["commit", output.path, root.path],
            inputFiles: Self.headFiles(root: root),
            outputFiles: [output])]
    }

    /// `.git/HEAD` and `.git/logs/HEAD`, also in a linked work tree (where `.git` is a file naming
    /// the real folder); none outside a git checkout (a source tarball builds as commit "unknown").
    static func headFiles(root: URL) -> [URL] {
        let dotGit = root.appending(path: ".git")
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit.path, isDirectory: &isFolder) else { return [] }
        var gitDir = dotGit
        if !isFolder.boolValue {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
                  let line = text.split(separator: "\n").first, line.hasPrefix("gitdir: ") else { return [] }
            let path = String(line.dropFirst("gitdir: ".count))
            gitDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appending(path: path)
        }
        return [gitDir.appending(path: "HEAD"), gitDir.appending(path: "logs/HEAD")]
            .filter { FileManager.default.fileExists(atPath: $0.path) }
    }
}
