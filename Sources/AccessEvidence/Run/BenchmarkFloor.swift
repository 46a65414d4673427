import CSQLite
import CXLSXWriter
import Foundation

/// The floor a report run is compared with: what the C libraries alone take for the two ends of the
/// work. (1) The reader's own session query, with its joins and JSON sub-selects, stepped through
/// with the SQLite C API, every column of every row fetched and every byte summed; (2) libxlsxwriter
/// in constant-memory mode writing as many 12-cell rows as the report's population sheets hold.
/// No decoding, analysis, hashing or rendering: a report can approach this, never beat it.
public enum BenchmarkFloor {
    public struct Scan: Sendable {
        public var rows: Int
        public var bytes: Int
        public var seconds: Double
        public var cpuSeconds: Double
        /// The sum of every byte read, so the reads cannot be optimised away.
        public var checksum: UInt64
    }

    /// Runs the session query `SQLiteGatewayStore` runs for `period`, bound as it binds it.
    public static func scanSessions(store path: String, period: Period) throws -> Scan {
        let store = try SQLiteGatewayStore(path: path)
        let sql = store.reader.sessionQuery
        let binds = store.dialect.bounds(period)
        let start = Benchmark.now(), cpuStart = cpuTime()
        let statement = try store.db.prepare(sql)
        try statement.bind(binds.map { .text($0) })
        let stmt = statement.stmt
        let columns = sqlite3_column_count(stmt)
        var rows = 0, bytes = 0
        var checksum: UInt64 = 0
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw StoreError.query(path: path, reason: store.db.errorMessage) }
            rows += 1
            for c in 0..<columns {
                let pointer: UnsafeRawPointer?
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_NULL: continue
                case SQLITE_BLOB: pointer = sqlite3_column_blob(stmt, c)
                default: pointer = sqlite3_column_text(stmt, c).map(UnsafeRawPointer.init)
                }
                let count = Int(sqlite3_column_bytes(stmt, c))
                guard let pointer, count > 0 else { continue }
                bytes += count
                checksum &+= sum(UnsafeRawBufferPointer(start: pointer, count: count))
            }
        }
        return Scan(rows: rows, bytes: bytes, seconds: Benchmark.now() - start, cpuSeconds: cpuTime() - cpuStart, checksum: checksum)
    }

    /// Adds the bytes eight at a time (then the tail), so touching them costs about a memory read.
    static func sum(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        var total: UInt64 = 0
        let words = buffer.count / 8
        for i in 0..<words { total &+= buffer.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) }
        for i in (words * 8)..<buffer.count { total &+= UInt64(buffer[i]) }
        return total
    }

    static func cString(_ s: String) -> UnsafeMutablePointer<CChar> { strdup(s)! }

    public struct Workbook: Sendable {
        public var rows: Int
        public var bytes: Int
        public var seconds: Double
        public var cpuSeconds: Double
    }

    /// CPU time of the calling thread (user plus system).
    static func cpuTime() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Writes `rows` rows of `XLSXReport`'s population layout (11 short strings and a date, ids
    /// unique per row as the report's are) into a workbook in `directory`, then deletes it.
    public static func writeWorkbook(rows: Int, in directory: String) throws -> Workbook {
        let path = (directory as NSString).appendingPathComponent("floor-\(UUID().uuidString.prefix(8)).xlsx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let start = Benchmark.now(), cpuStart = cpuTime()
        var options = lxw_workbook_options()
        options.constant_memory = UInt8(LXW_TRUE.rawValue)
        options.use_zip64 = UInt8(LXW_TRUE.rawValue)
        guard let book = workbook_new_opt(path, &options) else { throw BenchmarkError(description: "\(path): cannot create the workbook") }
        var closed = false
        defer { if !closed { _ = workbook_close(book) } }
        guard let dateFormat = workbook_add_format(book) else { throw BenchmarkError(description: "\(path): cannot create a format") }
        format_set_num_format(dateFormat, "yyyy-mm-dd hh:mm:ss")

        let tests = ["sessions.privileged-approved", "sessions.masking-applied", "sessions.recorded", "access.jit-expiry",
                     "changes.gateway-configuration", "identities.terminated-access"].map(cString)
        let identities = ["alice.moreau@acme.example", "bob.okafor@acme.example", "carol.nguyen@acme.example",
                          "machine|ops-agent", "erin.walsh@acme.example"].map(cString)
        let resources = ["pg-prod", "mysql-billing", "ssh-bastion", "k8s-prod", "data_masking /api/datamasking-rules/legacy"].map(cString)
        let marks = ["pass", "fail", "n/a", "pass", "pass"].map(cString)
        let blank = cString("")
        defer { (tests + identities + resources + marks + [blank]).forEach { free($0) } }
        // "session:" + a UUID-shaped id, rewritten in place per row.
        var item = Array("session:00000000-0000-4000-8000-000000000000\0".utf8CString)
        var session = Array("00000000-0000-4000-8000-000000000000\0".utf8CString)
        var rng = SeededGenerator(seed: 11)
        let hex = Array("0123456789abcdef".utf8CString)

        let maxRows = Int(XLSXReport.maxRows) - 1
        var sheet: UnsafeMutablePointer<lxw_worksheet>?
        var row: UInt32 = 0
        func check(_ rc: lxw_error) throws {
            guard rc == LXW_NO_ERROR else { throw BenchmarkError(description: "\(path): \(String(cString: lxw_strerror(rc)))") }
        }
        for n in 0..<rows {
            if sheet == nil || Int(row) > maxRows {
                guard let ws = workbook_add_worksheet(book, "Population \(n / maxRows + 1)") else {
                    throw BenchmarkError(description: "\(path): cannot add a sheet")
                }
                sheet = ws
                for (i, title) in ["Test", "Item", "Session", "Identity", "Resource", "Time (UTC)", "Attribute A", "Attribute B",
                                   "Attribute C", "Attribute D", "Attribute E", "Exceptions"].enumerated() {
                    try check(worksheet_write_string(ws, 0, UInt16(i), title, nil))
                }
                row = 1
            }
            let ws = sheet!
            var bits = rng.next()
            for i in [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17] {
                let digit = hex[Int(bits & 15)]
                bits >>= 4
                session[i] = digit
                item[i + 8] = digit
            }
            try check(worksheet_write_string(ws, row, 0, tests[n % tests.count], nil))
            try item.withUnsafeBufferPointer { try check(worksheet_write_string(ws, row, 1, $0.baseAddress, nil)) }
            try session.withUnsafeBufferPointer { try check(worksheet_write_string(ws, row, 2, $0.baseAddress, nil)) }
            try check(worksheet_write_string(ws, row, 3, identities[n % identities.count], nil))
            try check(worksheet_write_string(ws, row, 4, resources[n % resources.count], nil))
            try check(worksheet_write_number(ws, row, 5, 46_204 + Double(n % 86_400) / 86_400, dateFormat))
            for a in 0..<5 { try check(worksheet_write_string(ws, row, UInt16(6 + a), marks[(n + a) % marks.count], nil)) }
            try check(worksheet_write_string(ws, row, 11, n % 50 == 0 ? marks[1] : blank, nil))
            row += 1
        }
        closed = true
        try check(workbook_close(book))
        let seconds = Benchmark.now() - start, cpuSeconds = cpuTime() - cpuStart
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
        return Workbook(rows: rows, bytes: bytes, seconds: seconds, cpuSeconds: cpuSeconds)
    }
}
