import AccessEvidence
import ArgumentParser
import Foundation

struct TemplatesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "templates", abstract: "Write the built-in report.html templates out to edit.",
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = exportConfiguration("the built-in templates", "an organization's own look", "--templates")
        @Argument(help: exportFolderHelp) var folder: String

        func run() throws { try export(BuiltInDefaults.templates, to: folder, command: "templates export", note: "") }
    }
}
