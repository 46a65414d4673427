@testable import AccessEvidence
import Foundation
import Testing

/// A gateway on an older hoop release lacks columns later migrations added. Nothing the analysis can do
/// without is required: the store is read, and the report says what each missing column limits.
@Suite struct SchemaRangeTests {
    @Test func aStoreWithoutLaterColumnsIsReadAndTheReportSaysWhatThatLimits() throws {
        let f = try StoreFixture()
        try f.session("s1", created: "2026-07-01T10:00:00Z", ended: "2026-07-01T10:01:00Z", script: "DROP TABLE orders;")
        try f.session("s2", created: "2026-07-02T10:00:00Z", ended: "2026-07-02T10:01:00Z", script: "SELECT 1;")
        for column in ["origin", "guardrails_info", "identity_type", "machine_identity_id", "ai_analysis"] {
            try f.writer.db.execute("ALTER TABLE sessions DROP COLUMN \(column)")
        }
        try f.writer.db.execute("ALTER TABLE reviews DROP COLUMN rejection_reason")
        try f.finish()
        let run = ReportRun(storePath: f.path, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        let output = try run.analyse()
        #expect(output.analysis.sessionsAnalysed == 2)
        let flagged = output.analysis.controls.flatMap(\.exceptions).filter { $0.test == "approval.privileged-commands" }.map(\.sessionID)
        #expect(flagged == ["s1"])
        #expect(output.document.source.absentColumns?.map(\.column)
                == ["sessions.ai_analysis", "sessions.guardrails_info", "reviews.rejection_reason", "sessions.machine_identity_id",
                    "sessions.identity_type", "sessions.origin"])
        #expect(output.document.source.absentColumns?.first { $0.column == "sessions.origin" }?.addedIn == 96)
        #expect(output.document.source.absentColumns?.first { $0.column == "sessions.guardrails_info" }?.limits
                == "no guardrail matches: guardrails.blocked-commands and detection.guardrail-bursts see none")
    }

    @Test func aCurrentStoreLacksNothing() throws {
        let run = ReportRun(storePath: sampleStorePath, period: q3, catalog: try shippedCatalog(), generatedAt: date("2026-10-01T00:00:00Z"))
        #expect(try run.analyse().document.source.absentColumns == nil)
    }
}
