import AccessEvidence
import ArgumentParser
import Foundation

struct ControlsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controls", abstract: "Inspect the control catalog, or write the built-in one out to edit.",
        subcommands: [List.self, Validate.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the controls and the criteria they support.")
        @Option(help: "Control catalog folder (default: the built-in catalog).") var controls: String?

        func run() throws {
            let catalog = try loadCatalog(controls)
            for control in catalog.controls {
                print("\(control.id)\t\(control.criteria.joined(separator: ","))\t\(control.frequency.rawValue)\t\(control.owner)\t\(control.title)")
                for test in control.tests { print("\t\(test.test)") }
            }
            let covered = Set(catalog.controls.flatMap(\.criteria))
            let byEvidence = Dictionary(grouping: catalog.criteria, by: \.gatewayEvidence)
            print("\(catalog.criteria.count) criteria (\(byEvidence[.primary]?.count ?? 0) primary, \(byEvidence[.supporting]?.count ?? 0) supporting, \(byEvidence[.none]?.count ?? 0) not evidenced by the gateway); \(covered.count) tested by \(catalog.controls.count) controls")
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a catalog folder; problems are listed with file and line.")
        @Option(help: "Control catalog folder (default: the built-in catalog).") var controls: String?

        func run() throws {
            let catalog = try loadCatalog(controls)
            print("\(controls ?? "built-in catalog"): valid: \(catalog.criteria.count) criteria, \(catalog.controls.count) controls, sha256 \(catalog.sha256)")
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
