/// What a reader could not fully use, as the report lists it: each distinct issue once, at most
/// `StoreLimits.listedIssues` of them, then one line per `table.column` saying how many more were
/// met. A hostile store can hold millions of bad rows; the list stays bounded.
struct DataQualityLog {
    /// The first `StoreLimits.listedIssues` distinct issues, in the order met.
    private var listed: [DataQualityIssue] = []
    private var listedSet = Set<DataQualityIssue>()
    /// Issues met once the list was full, by `table.column` (a repeat of the issue just met is not counted).
    private var omitted: [String: (table: String, column: String, count: Int)] = [:]
    private var lastOmitted: DataQualityIssue?

    var issues: [DataQualityIssue] {
        listed + omitted.sorted { $0.key < $1.key }.map { key, o in
            DataQualityIssue(table: o.table, column: o.column, rowID: "(not listed)",
                             problem: "\(o.count) more issue\(o.count == 1 ? "" : "s") in \(key) not listed: the report lists the first \(StoreLimits.listedIssues) data-quality issues")
        }
    }

    mutating func note(_ issue: DataQualityIssue) {
        if listedSet.contains(issue) { return }
        if listed.count < StoreLimits.listedIssues {
            listed.append(issue)
            listedSet.insert(issue)
            return
        }
        guard issue != lastOmitted else { return }
        lastOmitted = issue
        omitted["\(issue.table).\(issue.column)", default: (issue.table, issue.column, 0)].count += 1
    }
}
