import Foundation

/// A change to the gateway's own configuration (hoop `security_audit_log`): who changed
/// what, when, with the redacted request body and whether it succeeded.
public struct ConfigChange: Sendable, Equatable {
    public var id: String
    public var actor: Actor
    public var at: Date
    /// `connections`, `guardrails`, `data_masking`, `users`, `auth_config`, `api_keys`, …
    public var resourceType: String
    /// `create`, `update`, `delete`, `revoke`.
    public var action: String
    public var httpPath: String
    /// The request body with secrets already replaced by hoop (`[REDACTED]`).
    public var payload: String
    public var succeeded: Bool
    public var errorMessage: String?

    public init(id: String, actor: Actor, at: Date, resourceType: String, action: String, httpPath: String, payload: String, succeeded: Bool, errorMessage: String?) {
        self.id = id
        self.actor = actor
        self.at = at
        self.resourceType = resourceType
        self.action = action
        self.httpPath = httpPath
        self.payload = payload
        self.succeeded = succeeded
        self.errorMessage = errorMessage
    }
}

/// A daily execution window on an approval (`reviews.time_window`): `HH:MM`–`HH:MM`, UTC.
public struct TimeWindow: Sendable, Equatable {
    public var startMinute: Int
    public var endMinute: Int

    public init?(start: String, end: String) {
        func minutes(_ s: String) -> Int? {
            let parts = s.split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else { return nil }
            return h * 60 + m
        }
        guard let a = minutes(start), let b = minutes(end) else { return nil }
        startMinute = a
        endMinute = b
    }

    /// Whether `date`'s UTC time of day is inside the window (which may wrap past midnight).
    public func contains(_ date: Date) -> Bool {
        let secondsOfDay = Int(date.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400) + 86_400) % 86_400
        let minute = secondsOfDay / 60
        return startMinute <= endMinute ? (minute >= startMinute && minute < endMinute) : (minute >= startMinute || minute < endMinute)
    }

    public var description: String {
        String(format: "%02d:%02d-%02d:%02d", startMinute / 60, startMinute % 60, endMinute / 60, endMinute % 60)
    }
}
