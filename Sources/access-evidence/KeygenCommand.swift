import AccessEvidence
import ArgumentParser
import Foundation

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Write a new Ed25519 key pair for signing reports: FILE (private) and FILE.pub.")

    @Option(help: "Private key file to write (never an existing file); the public key goes to FILE.pub.") var out: String

    func run() throws {
        try OutputGuard.checkAbsent(out, option: "--out", what: "a key")
        try OutputGuard.checkAbsent(out + ".pub", option: "--out", what: "a key")
        let (privatePEM, publicPEM) = SigningKeys.generate()
        try SafeWrite.newFile(Data(privatePEM.utf8), to: out, mode: 0o600)
        do { try SafeWrite.newFile(Data(publicPEM.utf8), to: out + ".pub", mode: 0o644) } catch {
            unlink(out)
            throw error
        }
        print("wrote \(out) (private, mode 600) and \(out).pub")
    }
}
