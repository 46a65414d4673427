@testable import AccessEvidence
import Foundation
import Testing

/// The catalog and templates compiled into the binary are the repository's files, byte for byte,
/// and the binary runs without them nearby.
@Suite struct BuiltInDefaultsTests {
    func folderFiles(_ folder: String, suffixes: [String]) throws -> [String: Data] {
        let dir = packageRoot.appendingPathComponent(folder)
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where suffixes.contains(where: { name.hasSuffix($0) }) {
            files[name] = try Data(contentsOf: dir.appendingPathComponent(name))
        }
        return files
    }

    @Test func embeddedFilesEqualTheRepositorysFiles() throws {
        let controls = try folderFiles("Controls", suffixes: [".yaml", ".yml"])
        let templates = try folderFiles("Templates", suffixes: [".mustache"])
        #expect(controls.count >= 4 && templates.count >= 3)
        #expect(Dictionary(uniqueKeysWithValues: BuiltInDefaults.controls.map { ($0.name, $0.data) }) == controls)
        #expect(Dictionary(uniqueKeysWithValues: BuiltInDefaults.templates.map { ($0.name, $0.data) }) == templates)
        #expect(BuiltInDefaults.controls.map(\.name) == controls.keys.sorted())
    }

    /// Every framework of the built-in catalog, SOC 2 first.
    static let catalogVersion = "SOC 2 Trust Services Criteria 2017 (points of focus revised 2022); HIPAA Security Rule 45 CFR 164 Subpart C (2013 text); ISO/IEC 27001:2022 Annex A 2022; NIST SP 800-53 Rev. 5 (AC, AU, CM, IA, IR, SI) Rev. 5 (release 5.2.0); PCI DSS 4.0.1"

    @Test func builtInCatalogIsTheShippedCatalog() throws {
        let builtIn = try CatalogLoader.loadBuiltIn()
        let shipped = try shippedCatalog()
        #expect(builtIn.sha256 == shipped.sha256)
        #expect(BuiltInDefaults.catalogSHA256 == shipped.sha256)
        #expect(builtIn.controls.map(\.id) == shipped.controls.map(\.id))
        #expect(builtIn.criteria.count == shipped.criteria.count)
        #expect(BuiltInDefaults.catalogVersion == Self.catalogVersion)
    }

    @Test func exportWritesTheDefaultsAndNeverOverwrites() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let controls = dir.appendingPathComponent("controls")
        let run = try runExecutable(["controls", "export", controls.path])
        #expect(run.code == 0)
        #expect(run.stdout == "wrote 8 files to \(controls.path) (catalog sha256 \(try shippedCatalog().sha256))\n")
        #expect(try CatalogLoader.load(directory: controls.path).sha256 == shippedCatalog().sha256)
        for name in try FileManager.default.contentsOfDirectory(atPath: controlsPath) {
            #expect(try Data(contentsOf: controls.appendingPathComponent(name)) == Data(contentsOf: URL(fileURLWithPath: controlsPath + "/" + name)))
        }

        // An edited copy is the organization's: a second export leaves it as it is.
        let edited = controls.appendingPathComponent("sampling.yaml")
        try Data("edited\n".utf8).write(to: edited)
        let again = try runExecutable(["controls", "export", controls.path])
        #expect(again.code == 64)
        #expect(again.stderr == "access-evidence: \(controls.path): is not empty: controls export writes only into a new or empty folder\n")
        #expect(try String(contentsOf: edited, encoding: .utf8) == "edited\n")

        // An existing empty folder is used; templates come out as the built-in ones.
        let templates = dir.appendingPathComponent("templates")
        try FileManager.default.createDirectory(at: templates, withIntermediateDirectories: false)
        #expect(try runExecutable(["templates", "export", templates.path]).stdout == "wrote 3 files to \(templates.path)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: templates.path).sorted() == ["link.mustache", "report.mustache", "style.mustache"])
        // A folder that cannot be created (its parent is missing): nothing is made.
        let nested = dir.appendingPathComponent("missing/templates")
        #expect(try runExecutable(["templates", "export", nested.path]).code != 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("missing").path))
    }

    /// From a folder with no Controls/ or Templates/ nearby, the report is the one the repository's
    /// folders give.
    @Test func runsAwayFromTheSourceTree() throws {
        let away = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: away) }
        let common = ["report", "--store", sampleStorePath, "--period", "2026-Q3", "--format", "html,json", "--quiet",
                      "--generated-at", "2026-10-01T00:00:00Z"]
        let builtIn = try runExecutable(common + ["--out", "r"], directory: away)
        #expect(builtIn.code == 0 && builtIn.stderr.isEmpty)
        let folders = try runExecutable(common + ["--out", away.appendingPathComponent("f").path, "--controls", controlsPath,
                                                  "--templates", packageRoot.appendingPathComponent("Templates").path])
        #expect(folders.code == 0)
        #expect(try Data(contentsOf: away.appendingPathComponent("r/populations.jsonl")) == Data(contentsOf: away.appendingPathComponent("f/populations.jsonl")))
        // The reports record the command line, which differs; everything else is the same.
        func html(_ folder: String) throws -> [Substring] {
            try String(contentsOf: away.appendingPathComponent("\(folder)/report.html"), encoding: .utf8)
                .split(separator: "\n").filter { !$0.hasPrefix("<dt>Command line</dt>") }
        }
        #expect(try html("r") == html("f"))
        #expect(try html("r").count > 1000)
        func withoutInvocation(_ folder: String) throws -> NSDictionary {
            var json = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: away.appendingPathComponent("\(folder)/report.json"))) as? [String: Any])
            json["invocation"] = nil
            return json as NSDictionary
        }
        #expect(try withoutInvocation("r") == withoutInvocation("f"))
    }

    @Test func unreadableFoldersNameTheOptionAndTheFallback() throws {
        let missing = "/nonexistent/folder"
        let controls = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", "/nonexistent/r", "--controls", missing])
        #expect(controls.code == 65)
        #expect(controls.stderr == "access-evidence: --controls \(missing): cannot read the catalog folder (without --controls, the built-in catalog is used)\n")
        let templates = try runExecutable(["report", "--store", sampleStorePath, "--period", "2026-Q3", "--out", "/nonexistent/r", "--format", "html",
                                           "--templates", missing])
        #expect(templates.code == 65)
        #expect(templates.stderr == "access-evidence: --templates \(missing): cannot read the template folder (without --templates, the built-in templates are used)\n")
    }

    @Test func versionNamesTheCommitAndTheCatalog() throws {
        let run = try runExecutable(["--version"])
        #expect(run.code == 0)
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", packageRoot.path, "rev-parse", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        try git.run()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        git.waitUntilExit()
        let commit = git.terminationStatus == 0 ? head : "unknown"
        #expect(run.stdout == "access-evidence \(ToolInfo.version) (commit \(commit))\n"
                + "built-in catalog: \(Self.catalogVersion), sha256 \(try shippedCatalog().sha256)\n")
    }
}
