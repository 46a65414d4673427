/// What a command does, as far as access control cares. Which kinds count as privileged is
/// catalog data (a test parameter), not code.
public enum CommandKind: String, Sendable, Codable, CaseIterable, Comparable {
    case sqlRead = "sql.read"
    case sqlWrite = "sql.write"
    case sqlUnboundedWrite = "sql.write-unbounded"
    case sqlDDL = "sql.ddl"
    case sqlDCL = "sql.dcl"
    case sqlExport = "sql.export"
    case sqlAdmin = "sql.admin"
    case sqlProcedure = "sql.procedure"
    case sqlTransaction = "sql.transaction"
    case sqlOther = "sql.other"
    case shellRead = "shell.read"
    case shellPrivilegeEscalation = "shell.privilege-escalation"
    case shellDestructive = "shell.destructive"
    case shellPermissions = "shell.permissions"
    case shellService = "shell.service"
    case shellAccountChange = "shell.account-change"
    case shellRemoteCode = "shell.remote-code"
    case shellPackage = "shell.package"
    case k8sRead = "k8s.read"
    case k8sMutation = "k8s.mutation"
    case k8sExec = "k8s.exec"
    case redisRead = "redis.read"
    case redisWrite = "redis.write"
    case redisDestructive = "redis.destructive"
    case mongoRead = "mongo.read"
    case mongoWrite = "mongo.write"
    case mongoDestructive = "mongo.destructive"
    case httpRead = "http.read"
    case httpWrite = "http.write"

    public static func < (a: CommandKind, b: CommandKind) -> Bool { a.rawValue < b.rawValue }

    /// The kinds an access policy usually routes to approval.
    public static let defaultPrivileged: [CommandKind] = [
        .sqlWrite, .sqlUnboundedWrite, .sqlDDL, .sqlDCL, .sqlExport, .sqlProcedure,
        .shellPrivilegeEscalation, .shellDestructive, .shellPermissions, .shellService, .shellAccountChange,
        .shellRemoteCode, .shellPackage, .k8sMutation, .k8sExec, .redisDestructive, .mongoDestructive, .mongoWrite,
    ]
}

/// Picks the classifier for a command by the connection's protocol.
public enum CommandClassifier {
    public static func classify(_ text: String, protocol proto: ConnectionProtocol) -> Set<CommandKind> {
        switch proto {
        case .postgres, .mysql, .mssql, .oracledb:
            return SQLClassifier.classify(text)
        case .mongodb:
            return MongoClassifier.classify(text)
        case .http, .mcp:
            return HTTPClassifier.classify(text)
        case .kubernetes:
            // Through a port-forward the gateway sees Kubernetes API requests.
            let http = HTTPClassifier.classify(text)
            if http.isEmpty { return ShellClassifier.classify(text) }
            let path = text.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            if ["/exec", "/attach", "/portforward", "/proxy"].contains(where: { path.contains($0) }) { return [.k8sExec] }
            return http.contains(.httpWrite) ? [.k8sMutation] : [.k8sRead]
        default:
            return ShellClassifier.classify(text)
        }
    }
}
