/// Classifies SQL through a tokenizer, so that comments, string literals, quoted identifiers
/// and dollar-quoted bodies never count as keywords, and each statement is judged alone.
public enum SQLClassifier {
    public struct Token: Equatable {
        public enum Kind: Equatable { case word, quoted, string, number, symbol }
        public var kind: Kind
        /// Upper-cased for words; the text for the rest.
        public var text: String
        public var depth: Int
    }

    public static func classify(_ sql: String) -> Set<CommandKind> {
        var kinds = Set<CommandKind>()
        for statement in statements(sql) where !statement.isEmpty {
            kinds.insert(classify(statement: statement))
        }
        return kinds
    }

    static func classify(statement t: [Token]) -> CommandKind {
        let words = t.filter { $0.kind == .word && $0.depth == 0 }.map(\.text)
        guard let first = words.first else { return .sqlOther }
        let all = Set(t.filter { $0.kind == .word }.map(\.text))
        func has(_ w: String) -> Bool { words.contains(w) }
        switch first {
        case "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "COMMENT", "REFRESH", "IMPORT":
            return .sqlDDL
        case "GRANT", "REVOKE", "DENY":
            return .sqlDCL
        case "INSERT", "REPLACE", "UPSERT", "MERGE", "LOAD":
            return .sqlWrite
        case "UPDATE", "DELETE":
            return has("WHERE") ? .sqlWrite : .sqlUnboundedWrite
        case "COPY":
            if has("TO") { return .sqlExport }
            return has("FROM") ? .sqlWrite : .sqlOther
        case "UNLOAD", "EXPORT", "BACKUP", "BCP":
            return .sqlExport
        case "SELECT", "VALUES", "TABLE":
            if has("OUTFILE") || has("DUMPFILE") { return .sqlExport }
            if first == "SELECT", has("INTO") { return .sqlDDL } // SELECT … INTO new_table
            return .sqlRead
        case "WITH":
            // A data-modifying CTE writes, at whatever depth it sits.
            if all.contains("UPDATE") || all.contains("DELETE") {
                return all.contains("WHERE") ? .sqlWrite : .sqlUnboundedWrite
            }
            if all.contains("INSERT") || all.contains("MERGE") { return .sqlWrite }
            return .sqlRead
        case "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "USE", "HELP", "PRAGMA", "LISTEN", "FETCH", "DECLARE", "PREPARE":
            if first == "EXPLAIN", has("ANALYZE") || has("ANALYSE") {
                // EXPLAIN ANALYZE runs the statement it explains.
                let inner = Array(t.drop { $0.kind == .word && ["EXPLAIN", "ANALYZE", "ANALYSE", "VERBOSE"].contains($0.text) })
                return inner.isEmpty ? .sqlRead : classify(statement: inner)
            }
            return .sqlRead
        case "CALL", "EXEC", "EXECUTE", "DO":
            return .sqlProcedure
        case "VACUUM", "ANALYZE", "ANALYSE", "REINDEX", "CLUSTER", "LOCK", "KILL", "SHUTDOWN", "FLUSH", "RESET",
             "CHECKPOINT", "OPTIMIZE", "REPAIR", "DBCC", "RECONFIGURE", "INSTALL", "UNINSTALL":
            return .sqlAdmin
        case "SET":
            if has("ROLE") || has("SESSION") && has("AUTHORIZATION") { return .sqlAdmin }
            return .sqlTransaction
        case "BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END", "ABORT", "DISCARD", "DEALLOCATE", "CLOSE", "UNLISTEN":
            return .sqlTransaction
        default:
            return .sqlOther
        }
    }

    /// Splits SQL into statements of tokens. Comments vanish; literals and quoted identifiers
    /// become single tokens; parenthesis depth is kept so sub-queries can be told apart.
    public static func statements(_ sql: String) -> [[Token]] {
        let b = Array(sql.utf8)
        var out: [[Token]] = []
        var current: [Token] = []
        var depth = 0
        var i = 0
        func isWordByte(_ c: UInt8) -> Bool {
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 95 || c >= 0x80 || c == 36
        }
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 12 { i += 1; continue }
            // -- line comment, # comment (MySQL)
            if (c == 45 && i + 1 < b.count && b[i + 1] == 45) || c == 35 {
                while i < b.count, b[i] != 10 { i += 1 }
                continue
            }
            // /* block comment */, nested as in PostgreSQL
            if c == 47 && i + 1 < b.count && b[i + 1] == 42 {
                var nest = 1
                i += 2
                while i < b.count && nest > 0 {
                    if b[i] == 47 && i + 1 < b.count && b[i + 1] == 42 { nest += 1; i += 2 }
                    else if b[i] == 42 && i + 1 < b.count && b[i + 1] == 47 { nest -= 1; i += 2 }
                    else { i += 1 }
                }
                continue
            }
            // 'string' with '' doubling; E'…' also takes backslash escapes
            if c == 39 || ((c == 69 || c == 101) && i + 1 < b.count && b[i + 1] == 39 && !(i > 0 && isWordByte(b[i - 1]))) {
                let backslash = c != 39
                if backslash { i += 1 }
                let start = i
                i += 1
                while i < b.count {
                    if backslash && b[i] == 92 { i += 2; continue }
                    if b[i] == 39 {
                        if i + 1 < b.count && b[i + 1] == 39 { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i = min(i + 1, b.count)
                current.append(Token(kind: .string, text: String(decoding: b[start..<i], as: UTF8.self), depth: depth))
                continue
            }
            // "identifier", `identifier`, [identifier]
            if c == 34 || c == 96 {
                let start = i
                i += 1
                while i < b.count {
                    if b[i] == c {
                        if i + 1 < b.count && b[i + 1] == c { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i = min(i + 1, b.count)
                current.append(Token(kind: .quoted, text: String(decoding: b[start..<i], as: UTF8.self), depth: depth))
                continue
            }
            // $tag$ … $tag$ dollar quoting
            if c == 36 {
                var j = i + 1
                while j < b.count, isWordByte(b[j]), b[j] != 36 { j += 1 }
                if j < b.count, b[j] == 36, j == i + 1 || !(b[i + 1] >= 48 && b[i + 1] <= 57) {
                    let tag = Array(b[i...j])
                    var k = j + 1
                    var end = b.count
                    while k + tag.count <= b.count {
                        if b[k] == 36 && Array(b[k..<(k + tag.count)]) == tag { end = k; break }
                        k += 1
                    }
                    let bodyEnd = min(end + tag.count, b.count)
                    current.append(Token(kind: .string, text: String(decoding: b[i..<bodyEnd], as: UTF8.self), depth: depth))
                    i = bodyEnd
                    continue
                }
            }
            if isWordByte(c) && c != 36 {
                let start = i
                while i < b.count, isWordByte(b[i]) { i += 1 }
                let word = String(decoding: b[start..<i], as: UTF8.self)
                let isNumber = c >= 48 && c <= 57
                current.append(Token(kind: isNumber ? .number : .word, text: isNumber ? word : word.uppercased(), depth: depth))
                continue
            }
            if c == 59 { // ;
                if !current.isEmpty { out.append(current) }
                current = []
                depth = 0
                i += 1
                continue
            }
            if c == 40 { depth += 1 }
            if c == 41 { depth = max(0, depth - 1) }
            current.append(Token(kind: .symbol, text: String(UnicodeScalar(c)), depth: depth))
            i += 1
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
