import Foundation
import PackagePlugin

/// Compiles the shipped catalog (`Controls/*.yaml`) and templates (`Templates/*.mustache`) into the
/// library, so an installed binary needs no source tree. The files stay the single source: every
/// build regenerates the Swift file from them, and a test compares the embedded copy with them.
@main
struct EmbedDefaults: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        var inputs: [URL] = []
        var arguments: [String] = []
        // What the catalog and template loaders read from a folder, and nothing else.
        for (folder, suffixes) in [("Controls", [".yaml", ".yml"]), ("Templates", [".mustache"])] {
            let dir = root.appending(path: folder)
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                .filter { name in suffixes.contains { name.hasSuffix($0) } }.sorted()
            for name in names {
                let file = dir.appending(path: name)
                inputs.append(file)
                arguments += ["--\(folder.lowercased())", file.path]
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedDefaults.swift")
        return [.buildCommand(
            displayName: "Embedding Controls/ and Templates/ into \(target.name)",
            executable: try context.tool(named: "embed-defaults").url,
            arguments: ["defaults", output.path] + arguments,
            inputFiles: inputs,
            outputFiles: [output])]
    }
}
