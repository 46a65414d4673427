import AccessEvidence
import ArgumentParser
import Foundation

struct TemplatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates", abstract: "Write the built-in report.html templates out to edit.",
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the built-in templates into a new or empty folder, as the start of an organization's own look (use it with --templates).")
        @Argument(help: "Folder to write (created; an existing one must be empty).") var folder: String

        func run() throws {
            let written = try BuiltInDefaults.export(BuiltInDefaults.templates, to: folder, option: "templates export")
            print("wrote \(written.count) files to \(folder)")
        }
    }
}
