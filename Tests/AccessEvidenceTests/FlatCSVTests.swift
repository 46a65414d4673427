@testable import AccessEvidence
import Foundation
import Testing

/// `--format csv`: findings.csv and results.csv, read back by Python's csv module and by LibreOffice
/// (readers nobody here wrote), agree with report.json; a formula planted in the store arrives as text.
@Suite struct FlatCSVTests {
    /// Python's csv module reads `path` (BOM skipped) and prints the rows as JSON.
    func pythonRows(_ path: String) throws -> [[String]] {
        let script = "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8-sig')))))"
        let result = try SchemaTests.runSeparately(SchemaTests.python, ["-c", script, path])
        try #require(result.code == 0, "\(result.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String]])
    }

    @Test func theSampleFindingsAndResults() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.csv, .json]
        let output = try run.write(to: dir.appendingPathComponent("r").path)
        let findings = try pythonRows(dir.appendingPathComponent("r/findings.csv").path)
        #expect(findings[0] == FlatCSV.findingsHeader)
        let document = output.document
        let all = document.controls.flatMap { $0.tests.flatMap(\.exceptions) } + document.controls.flatMap { $0.tests.flatMap(\.observations) }
        #expect(findings.count == 1 + all.count && all.count == 44)
        #expect(Set(findings.dropFirst().map { $0[1] }) == Set(all.map(\.fingerprint)))
        #expect(findings.dropFirst().filter { $0[0] == "exception" }.count == 38)
        let lapsed = try #require(findings.first { $0[5] == "aaaaaaaa-0000-4000-8000-000000000062" })
        #expect(lapsed[2] == "GW-IAM-04" && lapsed[11] == "jit-expired" && lapsed[10] == "high" && lapsed[9] == "2026-08-25T12:05:00Z")
        #expect(lapsed[17].contains("Gate at the session's start: rule Hoop-JIT_8_hours (jit)\n"))
        let results = try pythonRows(dir.appendingPathComponent("r/results.csv").path)
        #expect(results[0] == FlatCSV.resultsHeader)
        #expect(results.count == 1 + document.criteria.reduce(0) { $0 + max(1, $1.tests.count) })
        let gate = try #require(results.first { $0[1] == "CC6.2" && $0[7] == "approval.gated-access" })
        #expect(gate == ["soc2", "CC6.2", gate[2], gate[3], gate[4], "exceptions-noted", "GW-IAM-04", "approval.gated-access", "279", "5", "0"], "\(gate)")
        let notAddressed = try #require(results.first { $0[1] == "CC1.1" })
        #expect(notAddressed[0] == "soc2" && notAddressed[5] == "not-addressed" && notAddressed[6] == "" && notAddressed[8] == "0")
        // Both files are in the manifest, and the same input gives the same bytes.
        let manifest = try String(contentsOf: dir.appendingPathComponent("r/manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"findings.csv\"") && manifest.contains("\"results.csv\""))
        _ = try run.write(to: dir.appendingPathComponent("again").path)
        for file in [FlatCSV.findingsFile, FlatCSV.resultsFile] {
            #expect(try Data(contentsOf: dir.appendingPathComponent("r/" + file)) == Data(contentsOf: dir.appendingPathComponent("again/" + file)))
        }
    }

    /// An identity that is a spreadsheet formula, and a card number in a command, leave as inert, masked text.
    @Test func formulasArriveAsTextAndValuesMasked() throws {
        let f = try StoreFixture()
        try f.session("s1", user: "okta|x", email: "=HYPERLINK(\"http://x\",\"y\")", created: "2026-08-03T10:00:00Z", ended: "2026-08-03T10:01:00Z",
                      script: "UPDATE cards SET pan = '4111 1111 1111 1111';")
        try f.finish()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        run.formats = [.csv]
        try run.write(to: dir.appendingPathComponent("r").path)
        let bytes = try Data(contentsOf: dir.appendingPathComponent("r/findings.csv"))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let rows = try pythonRows(dir.appendingPathComponent("r/findings.csv").path)
        let identities = Set(rows.dropFirst().map { $0[7] }.filter { !$0.isEmpty })
        #expect(identities == ["'=HYPERLINK(\"http://x\",\"y\")"])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("4111 1111 1111 1111") && text.contains("4111 **** **** 1111"))
        #expect(rows.dropFirst().contains { $0[3] == "approval.privileged-commands" && $0[11] == "no-approval" })

        // LibreOffice, as a spreadsheet user would open it: converted to a workbook, no cell is a
        // formula, the planted one is text, and the card number is masked.
        for file in [FlatCSV.findingsFile, FlatCSV.resultsFile] {
            let sheet = try libreOfficeSheet(dir.appendingPathComponent("r/" + file), in: dir)
            #expect(sheet["formulas"] as? Int == 0, "\(file): \(sheet)")
            #expect((sheet["cells"] as? Int ?? 0) > 10, "\(file): \(sheet)")
            if file == FlatCSV.findingsFile {
                #expect(sheet["hyperlinkText"] as? Bool == true && sheet["masked"] as? Bool == true && sheet["raw"] as? Bool == false, "\(sheet)")
            }
        }
    }

    /// `soffice --headless --convert-to xlsx` on `csv` (with a profile of its own, so nothing of the
    /// user's LibreOffice is touched), then what its first sheet holds, read with Python's zipfile.
    func libreOfficeSheet(_ csv: URL, in dir: URL) throws -> [String: Any] {
        let soffice = ["/usr/bin/soffice", "/usr/local/bin/soffice"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let office = try #require(soffice, "LibreOffice is not installed: `make test-deps` installs libreoffice-calc-nogui")
        let out = dir.appendingPathComponent("libreoffice-" + csv.lastPathComponent)
        let profile = dir.appendingPathComponent("libreoffice-profile")
        let converted = try SchemaTests.run(office, ["-env:UserInstallation=file://" + profile.path, "--headless", "--convert-to", "xlsx",
                                                    "--outdir", out.path, csv.path])
        try #require(converted.code == 0, "\(converted.output)")
        let workbook = out.appendingPathComponent(csv.deletingPathExtension().lastPathComponent + ".xlsx")
        let script = """
            import json, re, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            sheet = z.read('xl/worksheets/sheet1.xml').decode()
            strings = z.read('xl/sharedStrings.xml').decode() if 'xl/sharedStrings.xml' in z.namelist() else ''
            text = strings + sheet
            print(json.dumps({'formulas': len(re.findall(r'<f[ >]', sheet)), 'cells': len(re.findall(r'<c ', sheet)),
                              'hyperlinkText': 'HYPERLINK' in text, 'masked': '4111 **** **** 1111' in text,
                              'raw': '4111 1111 1111 1111' in text}))
            """
        let read = try SchemaTests.runSeparately(SchemaTests.python, ["-c", script, workbook.path])
        try #require(read.code == 0, "\(read.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(read.stdout.utf8)) as? [String: Any])
    }
}
