import AccessEvidence
import ArgumentParser
import Foundation

struct ControlsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controls", abstract: "Inspect the control catalog.",
        subcommands: [List.self, Validate.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the controls and the criteria they support.")
        @Option(help: "Control catalog folder.") var controls: String?

        func run() throws {
            let catalog = try CatalogLoader.load(directory: controls ?? Locations.controls)
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
        @Option(help: "Control catalog folder.") var controls: String?

        func run() throws {
            let dir = controls ?? Locations.controls
            let catalog = try CatalogLoader.load(directory: dir)
            print("\(dir): valid: \(catalog.criteria.count) criteria, \(catalog.controls.count) controls, sha256 \(catalog.sha256)")
        }
    }
}
