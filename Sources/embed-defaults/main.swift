// Build tool behind the EmbedDefaults and EmbedBuildCommit plugins: writes a Swift source file.
//   embed-defaults defaults OUT [--controls FILE]… [--templates FILE]…
//   embed-defaults commit OUT PACKAGE_ROOT
// Files are embedded as base64 so their bytes survive exactly (a string literal would normalise
// line ends) and the compiler sees one short literal per file.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("embed-defaults: \(message)\n".utf8))
    exit(1)
}

/// Writes `text` to `path` only when it differs, so an unchanged input does not recompile the module.
func write(_ text: String, to path: String) {
    let data = Data(text.utf8)
    if FileManager.default.contents(atPath: path) == data { return }
    do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch { fail("\(path): \(error)") }
}

func swiftLiteral(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

func embedDefaults(output: String, arguments: ArraySlice<String>) {
    var groups: [String: [String]] = ["controls": [], "templates": []]
    var rest = arguments
    while let flag = rest.popFirst() {
        guard flag.hasPrefix("--"), groups[String(flag.dropFirst(2))] != nil, let path = rest.popFirst() else {
            fail("unexpected argument \(flag)")
        }
        groups[String(flag.dropFirst(2)), default: []].append(path)
    }
    var text = "// Generated at build time by embed-defaults from Controls/ and Templates/; do not edit.\n\n"
    text += "extension BuiltInDefaults {\n"
    for (group, property) in [("controls", "controlFiles"), ("templates", "templateFiles")] {
        text += "    static let \(property): [EmbeddedFile] = [\n"
        for path in groups[group]!.sorted(by: { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }) {
            guard let data = FileManager.default.contents(atPath: path) else { fail("\(path): cannot read") }
            let name = (path as NSString).lastPathComponent
            text += "        EmbeddedFile(name: \(swiftLiteral(name)), base64: \"\(data.base64EncodedString())\"),\n"
        }
        text += "    ]\n"
    }
    text += "}\n"
    write(text, to: output)
}

/// `git rev-parse HEAD` in the package, or "unknown" outside a checkout or without git.
func embedCommit(output: String, root: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", root, "rev-parse", "--verify", "--quiet", "HEAD"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    var commit = "unknown"
    if (try? process.run()) != nil {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if process.terminationStatus == 0, text.count == 40 || text.count == 64, text.allSatisfy(\.isHexDigit) { commit = text }
    }
    write("// Generated at build time by embed-defaults; do not edit.\n\nenum BuildCommit {\n    static let id = \(swiftLiteral(commit))\n}\n", to: output)
}

var arguments = CommandLine.arguments.dropFirst()
guard let mode = arguments.popFirst(), let output = arguments.popFirst() else { fail("usage: embed-defaults defaults|commit OUT …") }
switch mode {
case "defaults": embedDefaults(output: output, arguments: arguments)
case "commit":
    guard let root = arguments.popFirst() else { fail("commit needs the package root") }
    embedCommit(output: output, root: root)
default: fail("unknown mode \(mode)")
}
