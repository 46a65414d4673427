import AccessEvidence
import ArgumentParser
import Foundation

struct ControlsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controls", abstract: "Inspect the control catalog, or write the built-in one out to edit.",
        subcommands: [List.self, Validate.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the controls and the criteria they support, per framework.")
        @Option(help: "Control catalog folder (default: the built-in catalog).") var controls: String?
        @Option(help: "Comma-separated frameworks to list the crosswalk for: soc2, iso27001, pci-dss, hipaa, nist-800-53, or all (default: soc2).")
        var framework: String?

        func run() throws {
            var catalog = try loadCatalog(controls)
            if let framework {
                do { catalog = try catalog.choosing(framework.split(separator: ",").map(String.init)) } catch let error as CatalogError {
                    throw ValidationError(error.description)
                }
            }
            for control in catalog.controls {
                print("\(control.id)\t\(control.criteria.joined(separator: ","))\t\(control.frequency.rawValue)\t\(control.owner)\t\(control.title)")
                for other in catalog.frameworks.dropFirst() {
                    print("\t\(other.id): \((control.crosswalk[other.id] ?? []).joined(separator: ","))")
                }
                for test in control.tests { print("\t\(test.test)") }
            }
            for f in catalog.frameworks { print(Self.coverage(f, controls: catalog.controls)) }
        }

        /// `iso27001: 93 requirements (10 primary, 15 supporting, 68 not evidenced by the gateway); 23 tested by 12 controls`
        static func coverage(_ f: Framework, controls: [Control]) -> String {
            let covered = Set(controls.flatMap { $0.crosswalk[f.id] ?? [] })
            let linked = controls.filter { !($0.crosswalk[f.id] ?? []).isEmpty }.count
            let byEvidence = Dictionary(grouping: f.criteria, by: \.gatewayEvidence)
            return "\(f.id): \(f.criteria.count) criteria (\(byEvidence[.primary]?.count ?? 0) primary, \(byEvidence[.supporting]?.count ?? 0) supporting, "
                + "\(byEvidence[.none]?.count ?? 0) not evidenced by the gateway); \(covered.count) tested by \(linked) controls"
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a catalog folder; problems are listed with file and line.")
        @Option(help: "Control catalog folder (default: the built-in catalog).") var controls: String?

        func run() throws {
            let catalog = try loadCatalog(controls)
            let frameworks = catalog.allFrameworks.map { "\($0.id) \($0.criteria.count)" }.joined(separator: ", ")
            print("\(controls ?? "built-in catalog"): valid: \(catalog.allFrameworks.reduce(0) { $0 + $1.criteria.count }) criteria (\(frameworks)), \(catalog.controls.count) controls, sha256 \(catalog.sha256)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = exportConfiguration("the built-in catalog", "an organization's own catalog", "--controls")
        @Argument(help: exportFolderHelp) var folder: String

        func run() throws {
            try export(BuiltInDefaults.controls, to: folder, command: "controls export", note: " (catalog sha256 \(BuiltInDefaults.catalogSHA256))")
        }
    }
}

/// `controls export` and `templates export`: the built-in defaults written out as a starting point.
func exportConfiguration(_ what: String, _ purpose: String, _ option: String) -> CommandConfiguration {
    CommandConfiguration(abstract: "Write \(what) into a new or empty folder, as the start of \(purpose) (use it with \(option)).")
}

let exportFolderHelp = ArgumentHelp("Folder to write (created; an existing one must be empty).")

func export(_ files: [EmbeddedFile], to folder: String, command: String, note: String) throws {
    let written = try BuiltInDefaults.export(files, to: folder, option: command)
    print("wrote \(written.count) files to \(folder)\(note)")
}
