import AccessEvidence
import ArgumentParser
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-hash a report folder against its manifest and check its signature.")

    @Argument(help: "The report folder.") var directory: String
    @Option(help: "Ed25519 public key (PEM or base64) to check manifest.sig with.") var publicKey: String?

    func run() throws {
        let result = try ManifestVerifier.verify(directory: directory, publicKey: publicKey)
        for problem in result.problems { stderrWrite("access-evidence: \(directory)/\(problem)\n") }
        if !result.ok { throw ExitCode(Exit.exceptionsFound) }
        print("\(directory): \(result.checked) file\(result.checked == 1 ? "" : "s") match the manifest; \(result.signature)")
    }
}
