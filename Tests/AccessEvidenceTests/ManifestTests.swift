@testable import AccessEvidence
import Foundation
import Testing

@Suite struct ManifestTests {
    func signedReport() throws -> (dir: URL, report: String, privateKey: String, publicKey: String) {
        let dir = try temporaryDirectory()
        let (privatePEM, publicPEM) = SigningKeys.generate()
        let key = dir.appendingPathComponent("key.pem").path, pub = dir.appendingPathComponent("key.pub").path
        try privatePEM.write(toFile: key, atomically: true, encoding: .utf8)
        try publicPEM.write(toFile: pub, atomically: true, encoding: .utf8)
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.signingKey = key
        let out = dir.appendingPathComponent("report").path
        try run.write(to: out)
        return (dir, out, key, pub)
    }

    @Test func manifestListsEveryFileAndVerifies() throws {
        let (_, out, _, pub) = try signedReport()
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["manifest.json", "manifest.sig", "populations", "populations.jsonl", "report.json"])
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json")))
        let report = try Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))
        let listing = try Data(contentsOf: URL(fileURLWithPath: out + "/populations.jsonl"))
        let document = try JSONDecoder().decode(EvidenceDocument.self, from: report)
        let rows = document.controls.flatMap(\.tests).reduce(0) { $0 + $1.populationCount }
        #expect(listing.split(separator: 0x0A).count == rows)
        let csvNames = try FileManager.default.contentsOfDirectory(atPath: out + "/populations").sorted()
        #expect(csvNames.count == document.controls.flatMap(\.tests).count)
        let csvFiles = try csvNames.map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: out + "/populations/" + name))
            return Manifest.File(name: "populations/" + name, sha256: sha256Hex(data), size: data.count)
        }
        #expect(manifest.files == [Manifest.File(name: "populations.jsonl", sha256: sha256Hex(listing), size: listing.count)] + csvFiles
                                  + [Manifest.File(name: "report.json", sha256: sha256Hex(report), size: report.count)])
        #expect(manifest.inputs == nil)
        #expect(manifest.sourceSHA256 == (try FileHash.sha256(path: sampleStorePath)))
        #expect(manifest.catalogSHA256 == (try shippedCatalog()).sha256)
        let result = try ManifestVerifier.verify(directory: out, publicKey: pub)
        #expect(result.ok)
        #expect(result.signature == "valid Ed25519 signature")
    }

    @Test func catchesAOneByteChange() throws {
        let (_, out, _, pub) = try signedReport()
        let url = URL(fileURLWithPath: out + "/report.json")
        var data = try Data(contentsOf: url)
        data[100] ^= 0x01
        try data.write(to: url)
        let result = try ManifestVerifier.verify(directory: out, publicKey: pub)
        #expect(!result.ok)
        #expect(result.problems.count == 1)
        #expect(result.problems.first?.hasPrefix("report.json: changed") == true)
    }

    @Test func catchesMissingAndExtraFiles() throws {
        let (_, out, _, _) = try signedReport()
        try FileManager.default.removeItem(atPath: out + "/report.json")
        try Data("x".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        let result = try ManifestVerifier.verify(directory: out, publicKey: nil)
        #expect(result.problems == ["report.json: missing", "notes.txt: not in the manifest"])
    }

    @Test func catchesABadSignature() throws {
        let (dir, out, _, pub) = try signedReport()
        // Another key's public half does not match.
        let (_, otherPublic) = SigningKeys.generate()
        let other = dir.appendingPathComponent("other.pub").path
        try otherPublic.write(toFile: other, atomically: true, encoding: .utf8)
        #expect(try ManifestVerifier.verify(directory: out, publicKey: other).problems == ["manifest.sig: the signature does not match the manifest and key"])
        // An edited manifest (re-listing a tampered file) no longer matches its signature.
        let manifestURL = URL(fileURLWithPath: out + "/manifest.json")
        let edited = try String(contentsOf: manifestURL, encoding: .utf8).replacingOccurrences(of: "\"tool\" : \"access-evidence\"", with: "\"tool\" : \"access-evidencf\"")
        try edited.write(to: manifestURL, atomically: true, encoding: .utf8)
        #expect(try ManifestVerifier.verify(directory: out, publicKey: pub).problems == ["manifest.sig: the signature does not match the manifest and key"])
        try FileManager.default.removeItem(atPath: out + "/manifest.sig")
        #expect(try ManifestVerifier.verify(directory: out, publicKey: pub).problems == ["manifest.sig: missing"])
    }

    @Test func rejectsKeysThatAreNotEd25519() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("k").path
        try "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SigningError.self) { try SigningKeys.privateKey(path: path) }
        try "not a key".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SigningError.self) { try SigningKeys.publicKey(path: path) }
    }

    /// Files that change results are hashed into the report and its manifest.
    @Test func rosterAndAcceptedExceptionsAreHashed() throws {
        let dir = try temporaryDirectory()
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        let rosterPath = packageRoot.appendingPathComponent("SampleData/roster.csv").path
        let acceptedPath = packageRoot.appendingPathComponent("SampleData/accepted-exceptions.yaml").path
        run.roster = try Roster.load(path: rosterPath)
        run.accepted = try AcceptedExceptions.load(path: acceptedPath, controls: try shippedCatalog().controls.map(\.id))
        run.invocation = EvidenceDocument.Invocation(commandLine: "access-evidence report --store s", user: "carol", host: "build-1")
        let out = dir.appendingPathComponent("r").path
        let document = try run.write(to: out).document
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/manifest.json")))
        let expected = [
            EvidenceDocument.InputFile(role: "roster", path: rosterPath, sha256: try FileHash.sha256(path: rosterPath), entries: run.roster!.entries.count),
            EvidenceDocument.InputFile(role: "accepted-exceptions", path: acceptedPath, sha256: try FileHash.sha256(path: acceptedPath),
                                       entries: run.accepted!.entries.count),
        ]
        #expect(manifest.inputs == expected)
        #expect(document.inputs == expected)
        #expect(document.invocation?.user == "carol" && document.invocation?.host == "build-1")
    }
}
