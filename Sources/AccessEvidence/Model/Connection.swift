import Foundation

/// A connection ("resource role") as configured at extraction time, with the plugin
/// configuration hoop computes on read (reviewers, masking types).
public struct ConnectionConfig: Sendable, Equatable {
    public var id: String
    public var name: String
    public var type: String
    public var subtype: String
    public var `protocol`: ConnectionProtocol
    public var tags: [String]
    /// Groups configured to approve (plugin `review`).
    public var reviewerGroups: [String]
    /// Info types configured for masking (plugin `dlp`); non-empty means masking is on.
    public var redactTypes: [String]
    public var forceApproveGroups: [String]
    public var minReviewApprovals: Int?
    public var accessMaxDurationSec: Int?
    /// When the review plugin was bound to the connection (`plugin_connections.created_at`), if known.
    public var reviewPluginSince: Date? = nil
    /// Attributes (`connections_attributes`, 000068): access request rules may apply through them.
    public var attributes: [String] = []
    /// Guardrail rules bound to the connection, by name.
    public var guardrailRules: [String] = []
    /// Masking rules bound and active on the connection, by name (`datamasking_rules`, 000038).
    public var maskingRules: [String] = []
    /// `enabled`/`disabled` per access mode (runbooks, exec, connect), when the store has them.
    public var accessModes: [String: String] = [:]

    public init(id: String, name: String, type: String, subtype: String, tags: [String], reviewerGroups: [String], redactTypes: [String], forceApproveGroups: [String], minReviewApprovals: Int?, accessMaxDurationSec: Int?) {
        self.id = id
        self.name = name
        self.type = type
        self.subtype = subtype
        self.protocol = ConnectionProtocol(type: type, subtype: subtype)
        self.tags = tags
        self.reviewerGroups = reviewerGroups
        self.redactTypes = redactTypes
        self.forceApproveGroups = forceApproveGroups
        self.minReviewApprovals = minReviewApprovals
        self.accessMaxDurationSec = accessMaxDurationSec
    }

    public var masksData: Bool { !redactTypes.isEmpty }
}

/// The runtime protocol behind a connection, normalised from hoop's coarse type plus
/// subtype, and from the legacy types older sessions carry (`postgres` as a type).
public enum ConnectionProtocol: String, Sendable, Codable, CaseIterable {
    case postgres, mysql, mssql, mongodb, oracledb
    case ssh, kubernetes, http, shell, tcp, rdp, awsSSM = "aws-ssm", dynamodb, cloudwatch, mcp, other

    public init(type: String, subtype: String) {
        let t = type.lowercased(), s = subtype.lowercased()
        switch s {
        case "postgres", "postgresql": self = .postgres; return
        case "mysql": self = .mysql; return
        case "mssql": self = .mssql; return
        case "mongodb": self = .mongodb; return
        case "oracledb", "oracle": self = .oracledb; return
        case "ssh", "ssh-local", "git", "github": self = .ssh; return
        case "kubernetes", "kubernetes-eks", "kubernetes-token": self = .kubernetes; return
        case "httpproxy", "grafana", "kibana": self = .http; return
        case "tcp": self = .tcp; return
        case "rdp": self = .rdp; return
        case "aws-ssm": self = .awsSSM; return
        case "dynamodb": self = .dynamodb; return
        case "cloudwatch": self = .cloudwatch; return
        case "mcp", "mcpproxy", "claude-code": self = .mcp; return
        case "command-line", "bash", "shell": self = .shell; return
        default: break
        }
        switch t {
        case "postgres": self = .postgres
        case "mysql": self = .mysql
        case "mssql": self = .mssql
        case "tcp": self = .tcp
        case "httpproxy": self = .http
        case "command-line", "custom", "application": self = .shell
        default: self = .other
        }
    }

    public var isDatabase: Bool {
        switch self {
        case .postgres, .mysql, .mssql, .oracledb: return true
        default: return false
        }
    }
}
