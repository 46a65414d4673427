import Foundation

/// Who acted, as the gateway recorded it on the session.
public struct Actor: Sendable, Equatable, Hashable {
    public var subject: String
    public var email: String
    public var name: String
    /// hoop's `identity_type`: `user` or `machine`.
    public var identityType: String
    public var machineIdentityID: String?

    public init(subject: String, email: String, name: String, identityType: String = "user", machineIdentityID: String? = nil) {
        self.subject = subject
        self.email = email
        self.name = name
        self.identityType = identityType
        self.machineIdentityID = machineIdentityID
    }

    /// The label reports show: the e-mail when there is one, else the name, else the subject.
    public var display: String {
        if !email.isEmpty { return email }
        if !name.isEmpty { return name }
        return subject
    }
}

/// A lock on an identity: from `from` until `until` (nil: until lifted or for good) no session of
/// `user` may start.
public struct AccessLock: Sendable, Equatable {
    public var id: String
    public var user: String
    public var from: Date
    public var until: Date?
    public var by: String
    public var message: String

    public init(id: String, user: String, from: Date, until: Date?, by: String, message: String) {
        self.id = id
        self.user = user
        self.from = from
        self.until = until
        self.by = by
        self.message = message
    }

    public func holds(at date: Date) -> Bool { date >= from && until.map { date < $0 } ?? true }
}

/// A person or account in the gateway's user directory (`users` + `user_groups`).
public struct DirectoryUser: Sendable, Equatable {
    public var id: String
    public var subject: String
    public var email: String
    public var name: String
    /// `active`, `reviewing`, `inactive` or `invited`.
    public var status: String
    public var createdAt: Date?
    public var updatedAt: Date?
    public var groups: [String]

    public init(id: String, subject: String, email: String, name: String, status: String, createdAt: Date?, updatedAt: Date?, groups: [String]) {
        self.id = id
        self.subject = subject
        self.email = email
        self.name = name
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.groups = groups
    }

    /// hoop keeps no deactivation timestamp; for an inactive user the last update is the
    /// closest the store can tell.
    public var deactivatedAt: Date? { status == "inactive" ? updatedAt : nil }
}
