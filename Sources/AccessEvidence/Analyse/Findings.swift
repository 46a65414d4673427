import Crypto
import Foundation

/// The outcome of one test attribute for one item.
public enum AttributeOutcome: Sendable {
    case pass, fail, notApplicable
}

/// A fact an item's attributes were judged on (the command, the approval id, the approver, …):
/// a column of the population listings, samples and exceptions, under `label`.
public struct FactDefinition: Sendable, Codable, Equatable {
    /// Stable key: the JSON field and CSV column name (`command`, `approval_id`, …).
    public var id: String
    /// The column header an auditor reads.
    public var label: String

    public init(_ id: String, _ label: String) {
        self.id = id
        self.label = label
    }
}

/// Whether a finding is a control failure or something listed for the auditor's judgement.
public enum FindingKind: String, Sendable, Codable {
    /// The control failed for the item: counts against the criteria the control supports.
    case exception
    /// The control operated (a refused change, a forced approval, a blocked burst); listed for review,
    /// never counted as an exception. The catalog's `observations:` decides which reason codes these are.
    case observation
}

public struct AttributeDefinition: Sendable, Codable, Equatable {
    /// "A", "B", …: the workpaper column.
    public var id: String
    public var label: String

    public init(_ id: String, _ label: String) {
        self.id = id
        self.label = label
    }
}

/// An exception: one item that failed a test attribute, with what an auditor needs to trace it.
public struct Finding: Sendable, Equatable, Codable {
    public var fingerprint: String
    public var controlID: String
    public var test: String
    public var criteria: [String]
    public var itemID: String
    public var sessionID: String
    public var identity: String
    public var resource: String
    public var time: Date
    /// Stable code of the reason (`no-approval`, `self-approval`, …): what alerts key on.
    public var reasonCode: String
    public var reason: String
    public var severity: Severity
    public var failedAttributes: [String]
    /// Command text or counters, with every sensitive value masked.
    public var evidence: String
    /// Management's response, when an accepted-exceptions entry covers the finding.
    public var acceptedBy: AcceptedExceptions.Entry? = nil
    /// Exception, or observation when the catalog lists its reason code as one.
    public var kind: FindingKind = .exception
    /// The item's facts, aligned with the test's `TestDefinition.facts`.
    public var facts: [String] = []

    /// Sorts by time, then item, then reason: the order reports list exceptions in.
    static func ordered(_ a: Finding, _ b: Finding) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.itemID != b.itemID { return a.itemID < b.itemID }
        return a.reasonCode < b.reasonCode
    }

    static func fingerprint(control: String, test: String, item: String, reason: String) -> String {
        let digest = SHA256.hash(data: Data("\(control)\u{1F}\(test)\u{1F}\(item)\u{1F}\(reason)".utf8))
        return Hex.encode(digest.prefix(12))
    }
}

/// Who and what an item is about, for tracing an exception back to the store.
public struct ItemSubject: Sendable, Equatable {
    /// The session, or the row id for items that are not sessions (configuration changes, days).
    public var sessionID: String
    public var identity: String
    public var resource: String
    public var time: Date

    public init(sessionID: String, identity: String, resource: String, time: Date) {
        self.sessionID = sessionID
        self.identity = identity
        self.resource = resource
        self.time = time
    }

    public init(_ session: SessionRecord) {
        self.init(sessionID: session.id, identity: session.actor.display, resource: session.connectionName, time: session.createdAt)
    }
}

/// An item's outcome per attribute id, written as a dictionary literal (`["A": .pass, "B": .fail]`)
/// and set by subscript. Kept as a short list: a test has a handful of attributes and a run millions
/// of items, and a dictionary per item cost an allocation and hashing every key, twice counting the
/// engine's lookup. Setting an id again replaces its outcome; equality ignores the order.
public struct AttributeOutcomes: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    private var entries: [(String, AttributeOutcome)]

    public init(dictionaryLiteral elements: (String, AttributeOutcome)...) {
        entries = elements
        // A literal naming an id twice keeps the last, as setting it twice would (a handful of
        // entries: comparing each pair costs less than a set).
        for i in elements.indices.dropFirst() where elements[..<i].contains(where: { $0.0 == elements[i].0 }) {
            entries = []
            for (id, outcome) in elements { self[id] = outcome }
            break
        }
    }

    public subscript(_ id: String) -> AttributeOutcome? {
        get { entries.first { $0.0 == id }?.1 }
        set {
            let at = entries.firstIndex { $0.0 == id }
            switch (at, newValue) {
            case let (at?, outcome?): entries[at].1 = outcome
            case let (at?, nil): entries.remove(at: at)
            case let (nil, outcome?): entries.append((id, outcome))
            case (nil, nil): break
            }
        }
    }

    public var count: Int { entries.count }

    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[(String, AttributeOutcome)]>
        public mutating func next() -> (key: String, value: AttributeOutcome)? { base.next().map { (key: $0.0, value: $0.1) } }
    }

    public func makeIterator() -> Iterator { Iterator(base: entries.makeIterator()) }

    public static func == (a: Self, b: Self) -> Bool {
        a.count == b.count && a.entries.allSatisfy { b[$0.0] == $0.1 }
    }
}

/// What a test concluded about one item of its population.
public struct ItemResult: Sendable {
    public var itemID: String
    public var subject: ItemSubject
    public var attributes: AttributeOutcomes
    public var exceptions: [ItemException]
    /// The facts the attributes were judged on, aligned with the test's `TestDefinition.facts`
    /// (missing trailing values are empty). Text from the store: the engine gates it.
    public var facts: [String]

    public init(itemID: String, subject: ItemSubject, attributes: AttributeOutcomes, exceptions: [ItemException] = [],
                facts: [String] = []) {
        self.itemID = itemID
        self.subject = subject
        self.attributes = attributes
        self.exceptions = exceptions
        self.facts = facts
    }
}

/// An exception as a test raises it; the engine adds the control, criteria and fingerprint.
public struct ItemException: Sendable {
    public var reasonCode: String
    public var reason: String
    public var severity: Severity
    public var failedAttributes: [String]
    public var evidence: String
    public var time: Date?

    public init(_ reasonCode: String, _ reason: String, severity: Severity, failed: [String], evidence: String = "", time: Date? = nil) {
        self.reasonCode = reasonCode
        self.reason = reason
        self.severity = severity
        self.failedAttributes = failed
        self.evidence = evidence
        self.time = time
    }
}

/// Evidence excerpts and exception reasons, through `OutputGate`: one implementation of what is
/// masked in what the report quotes.
enum Evidence {
    /// Single-line, bounded, every sensitive value (e-mail addresses too) and credential masked.
    static func excerpt(_ text: String, limit: Int = 400) -> String {
        OutputGate.excerpt(text, limit: limit)
    }

    /// A finding's reason: it quotes paths, error messages and AI verdict titles from the store, so
    /// sensitive values and credentials are masked; identities' e-mail addresses stay, as they name who.
    static func reason(_ text: String) -> String {
        OutputGate.text(text)
    }
}

/// Credentials in command text and in what the store quotes, shown as `****`. One linear scan
/// over the bytes, never a backtracking regular expression: the one this replaces took minutes on
/// a megabyte of `mysql ` tokens. What it redacts:
/// - `scheme://user:****@host` (and `scheme://:****@host`);
/// - SQL: `PASSWORD ****` (a quoted literal), `PASSWORD(****)`, `IDENTIFIED BY ****`,
///   `IDENTIFIED WITH plugin BY|AS ****`;
/// - `NAME=****`, `NAME: ****`, `"NAME": ****`, `NAME => ****` where NAME names a secret: one of
///   its parts (split at `_`, `-`, `.`) contains password, passwd, passphrase, secret, token or
///   credential, or its last part is pass, pwd (MYSQL_PWD, not PWD), auth, bearer or apikey, or its
///   last two are api/private/encryption/signing/master/license/auth + key; but not when its last
///   part names a property of a secret (…_FILE, …_TTL, …_LENGTH, …_NAME, …). So `PGPASSWORD=****`,
///   `aws_secret_access_key = ****`, `X-Api-Key: ****`, `--password=****`, `?api_key=****`,
///   `"client_secret": ****`, `env MYSQL_PWD=**** mysql`;
/// - an option whose last part is such a word takes a separate value too: `--password ****`,
///   `--pass ****`, `--token ****`, `--client-secret ****` (not a value starting with `-`);
/// - `Authorization: Bearer ****` (the scheme stays), `Proxy-Authorization:`, `Cookie: ****`,
///   `Set-Cookie: ****`, to the end of the header line or of the quoted string holding it;
/// - per tool, in the shell segment that runs it (`mysql` anywhere before, as in
///   `docker exec db mysql -pX`): `mysql -p****` and `mysql -p ****` (the MySQL family and
///   MariaDB), `mongosh -p ****` (the MongoDB tools), `sshpass -p ****`, `redis-cli -a ****`,
///   `curl -u user:****` / `--user user:****` / `-U` / `--proxy-user`, `http -a user:****`
///   (HTTPie), `ldapsearch -w ****` (the OpenLDAP tools), `sqlcmd -P ****`, `zip -P ****`,
///   `7z -p****`, `smbclient -U user%****`, `openssl -passin pass:****`, `sqlplus user/****@db`.
/// A value is a quoted string (to its closing quote, doubled quotes and backslash escapes
/// honoured, or to the end of the text when it has none), or a bare word up to white space or one
/// of `;&|<>),}]` and quotes, with a call's parenthesised arguments (`crypt('x')`) taken whole.
/// Plain words stay: `SELECT password_hash FROM users`, `SELECT password FROM t`, `passwd alice`.
///
/// Run on text that went through `NormalisedText` (fullwidth letters folded, invisible characters
/// skipped), so `ＰＧＰＡＳＳＷＯＲＤ=x` and `PGPASS\u{200B}WORD=x` are redacted too.
enum Credentials {
    /// `text` with every credential value replaced by `****`.
    static func redact(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let view = NormalisedText.view(bytes, decodingEscapes: false)
        let found = values(view?.bytes ?? bytes)
        guard !found.isEmpty else { return text }
        return String(decoding: SensitiveData.splice(bytes, found.map { (view?.originalRange($0) ?? $0, "****") }), as: UTF8.self)
    }

    /// The credential values in `bytes`: sorted, disjoint and non-adjacent.
    static func values(_ bytes: [UInt8]) -> [Range<Int>] { scan(bytes).values }

    /// The values and the work done finding them (bytes read, roughly): linear in the text on any
    /// input, which the tests check on inputs built to be expensive.
    static func scan(_ bytes: [UInt8]) -> (values: [Range<Int>], work: Int) {
        let keyed = KeyedScan(bytes)
        keyed.run()
        // Tool options need the shell's words; only tokenise when a tool was named at all.
        guard keyed.sawTool else { return (keyed.found, keyed.work) }
        let options = OptionScan(bytes)
        options.run()
        return (merge(keyed.found, options.found), keyed.work + options.work)
    }

    static func merge(_ a: [Range<Int>], _ b: [Range<Int>]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in (a + b).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            // Overlapping or touching: one `****`, as the second pass over the output would see it.
            if let last = out.last, r.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    // MARK: Bytes

    static func isNameByte(_ c: UInt8) -> Bool { SensitiveData.isAlnum(c) || c == 95 || c == 45 || c == 46 }
    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 }
    static func lowercased(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c | 0x20 : c }
    static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }
    static func isQuote(_ c: UInt8) -> Bool { c == 39 || c == 34 || c == 96 }

    /// Where a bare value ends: white space, a shell operator, a closing bracket, a comma, a quote.
    static func endsBare(_ c: UInt8) -> Bool {
        switch c {
        case 9...13, 32, 59, 38, 124, 60, 62, 41, 44, 125, 93, 39, 34, 96: return true   // ; & | < > ) , } ] ' " `
        default: return false
        }
    }

    // MARK: Names

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
    static let password = bytes("password"), identified = bytes("identified")
    static let headerNames: [[UInt8]: Bool] = [bytes("authorization"): true, bytes("proxy-authorization"): true,
                                               bytes("cookie"): false, bytes("set-cookie"): false]
    /// Words that make a name name a secret wherever they appear in it, by their first letter.
    static let secretP = ["passw", "passphrase"].map(bytes), secretS = [bytes("secret")], secretT = [bytes("token")],
               secretC = [bytes("credential")]
    /// Whether three lower-cased bytes begin a word that can make a name name a secret (`pas`,
    /// `sec`, `tok`, `cre`, `aut`, `bea`, `api`, `pwd`, `key`): names with none are not classified.
    static func isSecretTrigram(_ t: UInt32) -> Bool {
        switch t {
        case 0x70_6173, 0x73_6563, 0x74_6F6B, 0x63_7265, 0x61_7574, 0x62_6561, 0x61_7069, 0x70_7764, 0x6B_6579: return true
        default: return false
        }
    }

    /// What a part of a name says, looked up once per name.
    struct PartRole: OptionSet, Sendable {
        let rawValue: UInt8
        /// As the last part, names a secret: `…_PASS`, `…_AUTH`, `…_BEARER`, `…_APIKEY`.
        static let secret = PartRole(rawValue: 1)
        /// `pwd`: names a secret after another part (`MYSQL_PWD`), but `PWD` is the working directory.
        static let afterPrefix = PartRole(rawValue: 2)
        /// `key`: names a secret after a qualifier (`API_KEY`, `PRIVATE_KEY`), not alone (`SORT_KEY`).
        static let key = PartRole(rawValue: 4)
        static let qualifier = PartRole(rawValue: 8)
        /// As the last part, names a property of a secret, not the secret (`PASSWORD_FILE=/run/secrets/db`).
        static let property = PartRole(rawValue: 16)
    }

    static let partRoles: [[UInt8]: PartRole] = {
        var roles: [[UInt8]: PartRole] = [:]
        func add(_ words: [String], _ role: PartRole) { for w in words { roles[bytes(w), default: []].insert(role) } }
        add(["pass", "auth", "bearer", "apikey"], .secret)
        add(["pwd"], .afterPrefix)
        add(["key"], .key)
        add(["api", "private", "encryption", "signing", "master", "license", "auth"], .qualifier)
        add(["file", "path", "dir", "length", "len", "min", "max", "ttl", "expiry", "expires", "expiration", "policy", "prompt",
             "stdin", "env", "required", "enabled", "count", "size", "timeout", "lifetime", "age", "type", "url", "uri", "endpoint",
             "name", "mode", "reset", "field", "column", "hint", "strength", "format", "algorithm", "encoding", "header", "label", "id"],
            .property)
        return roles
    }()

    struct NameClass {
        /// Names a secret: `NAME=value`, `NAME: value`.
        var secret = false
        /// Its last part is the secret's word: an option with this name takes a separate value.
        var secretLast = false
        var dashes = 0
    }

    /// Classifies a lower-cased name (letters, digits, `_`, `-`, `.`). Runs for every name with a
    /// trigram of a secret's word in it, so it compares bytes and looks up one part, or two.
    static func classify(_ name: [UInt8]) -> NameClass {
        var result = NameClass()
        var start = 0, end = name.count
        while start < end, name[start] == 45 { start += 1 }
        result.dashes = start
        while end > start, name[end - 1] == 45 || name[end - 1] == 46 || name[end - 1] == 95 { end -= 1 }
        guard end > start else { return result }
        var anySecret = false, lastHasWord = false
        var parts = 0
        var last = start..<start, previous = start..<start
        var partStart = start
        for p in start...end where p == end || name[p] == 95 || name[p] == 45 || name[p] == 46 {
            let part = partStart..<p
            partStart = p + 1
            guard !part.isEmpty else { continue }
            previous = last
            last = part
            parts += 1
            lastHasWord = hasSecretWord(name, part)
            anySecret = anySecret || lastHasWord
        }
        let role = partRoles[Array(name[last])] ?? []
        var lastSecret = lastHasWord || role.contains(.secret) || (parts > 1 && role.contains(.afterPrefix))
        if parts > 1, role.contains(.key), partRoles[Array(name[previous])]?.contains(.qualifier) == true { lastSecret = true }
        guard anySecret || lastSecret else { return result }
        result.secret = !role.contains(.property)
        result.secretLast = lastSecret
        return result
    }

    static func hasSecretWord(_ name: [UInt8], _ part: Range<Int>) -> Bool {
        for p in part {
            let words: [[UInt8]]
            switch name[p] {
            case 112: words = secretP   // p
            case 115: words = secretS   // s
            case 116: words = secretT   // t
            case 99: words = secretC    // c
            default: continue
            }
            for w in words where p + w.count <= part.upperBound && equals(name, p..<(p + w.count), w) { return true }
        }
        return false
    }

    static func equals(_ name: [UInt8], _ r: Range<Int>, _ word: [UInt8]) -> Bool {
        guard r.count == word.count else { return false }
        for k in 0..<word.count where name[r.lowerBound + k] != word[k] { return false }
        return true
    }

    // MARK: Tools

    enum Style: Sendable {
        /// The whole value.
        case value
        /// After the first `:` (`user:****`), `%` (`user%****`), `pass:` (`pass:****`).
        case afterColon, afterPercent, afterPassPrefix
        /// `user/****@db`.
        case login
    }

    struct Flag: Sendable {
        var flag: [UInt8]
        var style: Style
        /// `-pSECRET`.
        var attached: Bool
        /// `-p SECRET`.
        var separate: Bool
    }

    struct Tool: Sendable {
        var flags: [Flag]
        /// The first argument that is not an option is `user/password@db`.
        var login = false
    }

    static let tools: [[UInt8]: Tool] = {
        func flag(_ f: String, _ style: Style = .value, attached: Bool = true, separate: Bool = true) -> Flag {
            Flag(flag: bytes(f), style: style, attached: attached, separate: separate)
        }
        var table: [[UInt8]: Tool] = [:]
        func add(_ names: [String], _ tool: Tool) { for n in names { table[bytes(n)] = tool } }
        add(["mysql", "mysqldump", "mysqladmin", "mysqlimport", "mysqlshow", "mysqlcheck", "mysqlslap", "mysqlpump", "mysqlsh",
             "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-import", "mariadb-show", "mariadb-check",
             "mariadb-slap", "mariadb-binlog"], Tool(flags: [flag("-p")]))
        add(["mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop", "mongofiles"],
            Tool(flags: [flag("-p")]))
        add(["sshpass"], Tool(flags: [flag("-p")]))
        add(["redis-cli", "valkey-cli", "keydb-cli"], Tool(flags: [flag("-a")]))
        add(["curl"], Tool(flags: [flag("-u", .afterColon), flag("--user", .afterColon, attached: false),
                                   flag("-U", .afterColon), flag("--proxy-user", .afterColon, attached: false)]))
        add(["http", "https", "xh", "xhs"], Tool(flags: [flag("-a", .afterColon), flag("--auth", .afterColon, attached: false)]))
        add(["ldapsearch", "ldapmodify", "ldapadd", "ldapdelete", "ldapwhoami", "ldappasswd", "ldapcompare", "ldapmodrdn", "ldapexop"],
            Tool(flags: [flag("-w")]))
        add(["sqlcmd", "bcp"], Tool(flags: [flag("-P")]))
        add(["zip", "unzip"], Tool(flags: [flag("-P")]))
        add(["7z", "7za", "7zz"], Tool(flags: [flag("-p", separate: false)]))
        add(["smbclient"], Tool(flags: [flag("-U", .afterPercent), flag("--user", .afterPercent, attached: false)]))
        add(["openssl"], Tool(flags: [flag("-passin", .afterPassPrefix, attached: false), flag("-passout", .afterPassPrefix, attached: false),
                                      flag("-pass", .afterPassPrefix, attached: false)]))
        add(["sqlplus"], Tool(flags: [], login: true))
        return table
    }()

    /// FNV-1a, folded over a lower-cased name as it is read: every word is looked up as a tool,
    /// and hashing it as a dictionary key costs more than scanning it.
    static let fnvBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static func fnv(_ hash: UInt64, _ c: UInt8) -> UInt64 { (hash ^ UInt64(c)) &* 0x100_0000_01B3 }
    /// The longest name in `tools`: a longer word (but for `.exe`) names no tool.
    static let longestToolName = tools.keys.map(\.count).max() ?? 0

    static let toolsByHash: [UInt64: (name: [UInt8], tool: Tool)] = {
        var table: [UInt64: (name: [UInt8], tool: Tool)] = [:]
        for (name, tool) in tools { table[name.reduce(fnvBasis, fnv)] = (name, tool) }
        precondition(table.count == tools.count, "two tool names share a hash")
        return table
    }()

    /// The tool a lower-cased command name names, `.exe` or not, given the name's hash.
    static func tool(_ name: [UInt8], hash: UInt64) -> Tool? {
        if let entry = toolsByHash[hash], entry.name == name { return entry.tool }
        if name.count > 4, name[name.count - 4] == 46, name.suffix(3).elementsEqual("exe".utf8) {
            let stem = Array(name.dropLast(4))
            if let entry = toolsByHash[stem.reduce(fnvBasis, fnv)], entry.name == stem { return entry.tool }
        }
        return nil
    }
}

/// Credentials marked by a name: URLs, SQL, assignments, headers, long options. Reads each name
/// once; a rule either consumes the value it redacts or fails after a bounded look (white space,
/// one word), and the one unbounded search (a URL's `@`) keeps its answer for the next URL.
final class KeyedScan {
    let b: [UInt8]
    let n: Int
    private(set) var found: [Range<Int>] = []
    private(set) var sawTool = false
    private(set) var work = 0
    private var name: [UInt8] = []
    private var stopFrom = -1, stopAt = -1

    init(_ bytes: [UInt8]) {
        b = bytes
        n = bytes.count
        name.reserveCapacity(64)
    }

    private func byte(_ i: Int) -> UInt8 { work += 1; return b[i] }

    func run() {
        var i = 0
        // Bytes passed over, added to `work` in one go rather than one by one.
        var passed = 0
        while i < n {
            guard Credentials.isNameByte(b[i]), i == 0 || !Credentials.isNameByte(b[i - 1]) else { i += 1; passed += 1; continue }
            var e = i + 1
            while e < n, Credentials.isNameByte(b[e]) { e += 1 }
            passed += e - i
            i = rule(i, e) ?? e
        }
        work += passed
    }

    /// The rule for the name at `s..<e`: where scanning goes on, past a value it redacted, or nil.
    private func rule(_ s: Int, _ e: Int) -> Int? {
        if e + 2 < n, b[e] == 58, b[e + 1] == 47, b[e + 2] == 47 { return url(s, e) }
        guard e - s <= 64 else { return nil }
        let length = e - s
        var hash = Credentials.fnvBasis
        var trigram: UInt32 = 0
        var maybeSecret = false
        for k in s..<e {
            let c = Credentials.lowercased(b[k])
            hash = Credentials.fnv(hash, c)
            trigram = (trigram << 8 | UInt32(c)) & 0xFF_FFFF
            maybeSecret = maybeSecret || Credentials.isSecretTrigram(trigram)
        }
        work += 2 * length
        // Only names of these lengths can name a tool, `identified` or a header, and only names with
        // a secret's trigram are classified: most words (ids, values, SQL) need no lower-cased copy.
        let toolLength = !sawTool && length <= Credentials.longestToolName + 4
        let headerLength = length == 6 || length == 10 || length == 13 || length == 19
        guard toolLength || headerLength || maybeSecret else { return nil }
        name.removeAll(keepingCapacity: true)
        for k in s..<e { name.append(Credentials.lowercased(b[k])) }
        if toolLength, Credentials.tool(name, hash: hash) != nil { sawTool = true }
        if name == Credentials.identified { return identified(e) }
        if headerLength, let scheme = Credentials.headerNames[name] { return header(e, scheme: scheme) }
        guard maybeSecret else { return nil }
        if name == Credentials.password, let next = sqlPassword(e) { return next }
        let kind = Credentials.classify(name)
        if kind.secret, let next = assignment(e) { return next }
        if kind.dashes > 0, kind.secretLast, let next = optionValue(e) { return next }
        return nil
    }

    private func skipHorizontal(_ p: Int) -> Int {
        var p = p
        while p < n, b[p] == 32 || b[p] == 9 { work += 1; p += 1 }
        return p
    }

    private func skipSpace(_ p: Int) -> Int {
        var p = p
        while p < n, Credentials.isSpace(byte(p)) { p += 1 }
        return p
    }

    /// A quoted string at `p`, to its closing quote (doubled quotes continue it, backslash escapes
    /// in double quotes and backticks), or to the end of the text: an unterminated one hides the rest.
    func quoted(_ p: Int) -> Range<Int> {
        let q = b[p]
        var j = p + 1
        while j < n {
            let c = byte(j)
            if c == 92, q != 39 { j += 2; continue }
            if c == q {
                if j + 1 < n, b[j + 1] == q { j += 2; continue }
                return p..<(j + 1)
            }
            j += 1
        }
        return p..<n
    }

    /// A value at `p`, nil when there is none: quoted strings and bare runs joined as the shell
    /// joins them (`'x'y`, `'x'"y"`), with a call's arguments taken whole. A quote after a bare run
    /// ends it: in `psql "password=x"` it closes the string the value is in. Were `'x'y` read as
    /// `'x'`, the gate's second pass would read `****y` as a value: not idempotent.
    private func value(_ p: Int) -> Range<Int>? {
        var e = p
        var afterQuoted = false
        while e < n {
            let c = byte(e)
            if Credentials.isQuote(c) {
                guard e == p || afterQuoted else { break }
                e = quoted(e).upperBound
                afterQuoted = true
                continue
            }
            afterQuoted = false
            if c == 40 { e = closingParenthesis(e); continue }
            if Credentials.endsBare(c) { break }
            e += 1
        }
        return e > p ? p..<e : nil
    }

    /// Past the `)` that closes the `(` at `p` (quotes and nesting honoured), or the end of the text.
    private func closingParenthesis(_ p: Int) -> Int {
        var depth = 0
        var j = p
        while j < n {
            let c = byte(j)
            if Credentials.isQuote(c) { j = quoted(j).upperBound; continue }
            if c == 40 { depth += 1 } else if c == 41 { depth -= 1; if depth == 0 { return j + 1 } }
            j += 1
        }
        return n
    }

    private func redact(_ r: Range<Int>) -> Int {
        found.append(r)
        return r.upperBound
    }

    /// The name at `p`, lower-cased, if it is one of `words`.
    private func word(at p: Int, _ words: [String]) -> (String, Int)? {
        var e = p
        while e < n, Credentials.isNameByte(byte(e)), e - p <= 32 { e += 1 }
        guard e > p else { return nil }
        let w = String(decoding: b[p..<e].map(Credentials.lowercased), as: UTF8.self)
        return words.contains(w) ? (w, e) : nil
    }

    /// `IDENTIFIED BY value`, `IDENTIFIED WITH plugin BY|AS value`.
    private func identified(_ e: Int) -> Int? {
        var p = skipSpace(e)
        guard let (w, after) = word(at: p, ["by", "with"]) else { return nil }
        p = skipSpace(after)
        if w == "with" {
            guard p < n else { return nil }
            if Credentials.isQuote(b[p]) { p = quoted(p).upperBound } else {
                while p < n, Credentials.isNameByte(byte(p)) { p += 1 }
            }
            p = skipSpace(p)
            guard let (_, after) = word(at: p, ["by", "as"]) else { return nil }
            p = skipSpace(after)
        }
        return value(p).map(redact)
    }

    /// `PASSWORD 'x'` (a space, then a quoted literal: `"password": "x"` is an assignment) and `PASSWORD('x')`.
    private func sqlPassword(_ e: Int) -> Int? {
        let p = skipSpace(e)
        guard p < n else { return nil }
        if p > e, Credentials.isQuote(b[p]) { return redact(quoted(p)) }
        if b[p] == 40 {
            let q = skipSpace(p + 1)
            if q < n, Credentials.isQuote(b[q]) { return redact(quoted(q)) }
        }
        return nil
    }

    /// `NAME=value`, `NAME = value`, `NAME: value`, `"NAME": value`, `NAME := value`, `NAME => value`.
    private func assignment(_ e: Int) -> Int? {
        var p = e
        if p < n, Credentials.isQuote(b[p]) { p += 1 }
        p = skipHorizontal(p)
        guard p < n else { return nil }
        if b[p] == 61 {
            p += 1
            if p < n, b[p] == 61 || b[p] == 62 { p += 1 }
        } else if b[p] == 58 {
            guard p + 1 >= n || b[p + 1] != 58 else { return nil }   // `Token::new`, `'x'::text`
            p += 1
            if p < n, b[p] == 61 { p += 1 }
        } else {
            return nil
        }
        return value(skipHorizontal(p)).map(redact)
    }

    /// `--password value`: a value that is not another option (nor a PEM block, which starts with
    /// dashes too and which masking turns into `[… block redacted]`: not a value either).
    private func optionValue(_ e: Int) -> Int? {
        guard e < n, b[e] == 32 || b[e] == 9 else { return nil }
        let p = skipHorizontal(e)
        guard p < n, b[p] != 45, b[p] != 91 else { return nil }
        return value(p).map(redact)
    }

    /// `Authorization: Scheme credentials`, `Cookie: …`: to the end of the line, or of the quoted
    /// string the value opens or that holds the header (a quote after `=` opens a parameter:
    /// `Digest username="x", response="…"`).
    private func header(_ e: Int, scheme: Bool) -> Int? {
        var p = e
        if p < n, Credentials.isQuote(b[p]) { p += 1 }
        p = skipHorizontal(p)
        guard p < n, b[p] == 58 || b[p] == 61 else { return nil }
        p = skipHorizontal(p + 1)
        guard p < n else { return nil }
        var start = p
        var quote: UInt8?
        if Credentials.isQuote(b[p]) { quote = b[p]; start = p + 1 }
        var end = start
        while end < n {
            let c = byte(end)
            if c == 10 || c == 13 { break }
            if let q = quote {
                if c == 92 { end += 2; continue }
                if c == q { break }
            } else if Credentials.isQuote(c) {
                if end > start, b[end - 1] == 61 { end = quoted(end).upperBound; continue }
                break
            }
            end += 1
        }
        end = min(end, n)
        var credentials = start
        if scheme {
            var k = start
            while k < end, SensitiveData.isAlnum(b[k]) || b[k] == 45 { work += 1; k += 1 }
            if k > start, k < end, b[k] == 32 {
                let m = skipHorizontal(k)
                if m < end { credentials = m }
            }
        }
        var last = end
        while last > credentials, Credentials.isSpace(b[last - 1]) { last -= 1 }
        guard last > credentials else { return nil }
        found.append(credentials..<last)
        return end
    }

    /// The first `@` or white space at or after `p`. Remembered: `x://a:b x://a:b …` must not
    /// search to the same space from every `://`.
    private func nextAtOrSpace(_ p: Int) -> Int {
        if stopFrom <= p, p <= stopAt { return stopAt }
        var q = p
        while q < n, b[q] != 64, !Credentials.isSpace(b[q]) { work += 1; q += 1 }
        stopFrom = p
        stopAt = q
        return q
    }

    /// `scheme://user:password@host`: the password is what lies between the first `:` of the
    /// authority and its last `@` before the path; `host:8080/x?to=a@b` has a port, not a password.
    private func url(_ s: Int, _ e: Int) -> Int? {
        guard Credentials.isLetter(b[s]) else { return nil }
        var p = e + 3
        while p < n {
            let c = byte(p)
            if c == 58 || c == 47 || c == 64 || c == 63 || c == 35 || Credentials.isSpace(c) { break }
            p += 1
        }
        guard p < n, b[p] == 58 else { return nil }
        let start = p + 1
        let at = nextAtOrSpace(start)
        guard at < n, b[at] == 64, at > start else { return nil }
        var d = start
        while d < at, SensitiveData.isDigit(byte(d)) { d += 1 }
        if d > start, d < at, b[d] == 47 || b[d] == 63 || b[d] == 35 { return nil }
        var last = at, q = at + 1
        while q < n {
            let c = byte(q)
            if c == 47 || c == 63 || c == 35 || Credentials.isSpace(c) { break }
            if c == 64 { last = q }
            q += 1
        }
        found.append(start..<last)
        return last + 1
    }
}

/// Tool options: the text read as shell words (quotes and backslashes honoured) in segments
/// (`|`, `&`, `;`, newline, parentheses, backticks), one pass.
final class OptionScan {
    let b: [UInt8]
    let n: Int
    private(set) var found: [Range<Int>] = []
    private(set) var work = 0
    private var tool: Credentials.Tool?
    private var pending: Credentials.Style?
    private var login = false
    private var key: [UInt8] = []

    init(_ bytes: [UInt8]) {
        b = bytes
        n = bytes.count
    }

    private func byte(_ i: Int) -> UInt8 { work += 1; return b[i] }

    private static func isOperator(_ c: UInt8) -> Bool {
        c == 59 || c == 38 || c == 124 || c == 40 || c == 41 || c == 96 || c == 60 || c == 62   // ; & | ( ) ` < >
    }

    func run() {
        var i = 0
        while i < n {
            let c = b[i]
            work += 1
            if c == 10 || (Self.isOperator(c) && c != 60 && c != 62) { tool = nil; pending = nil; login = false; i += 1; continue }
            if Credentials.isSpace(c) { i += 1; continue }
            if c == 60 || c == 62 { pending = nil; i += 1; continue }   // a redirection's file is no value
            let s = i
            while i < n {
                let c = b[i]
                if Credentials.isSpace(c) || Self.isOperator(c) { break }
                if c == 39 || c == 34 { i = quotedEnd(i); continue }
                if c == 92 { i += 2; continue }
                i += 1
            }
            i = min(i, n)
            work += i - s
            word(s..<i)
        }
    }

    private func quotedEnd(_ p: Int) -> Int {
        let q = b[p]
        var j = p + 1
        while j < n {
            let c = byte(j)
            if c == 92, q == 34 { j += 2; continue }
            if c == q { return j + 1 }
            j += 1
        }
        return n
    }

    private func word(_ r: Range<Int>) {
        let option = b[r.lowerBound] == 45
        if let style = pending {
            pending = nil
            if !option { redact(style, r); return }
        }
        if login, !option {
            login = false
            redact(.login, r)
            return
        }
        if !option, r.count <= 24, let t = commandTool(r) {
            tool = t
            login = t.login
            return
        }
        guard option, let t = tool else { return }
        for f in t.flags {
            let length = f.flag.count
            guard r.count >= length, hasPrefix(r, f.flag) else { continue }
            if r.count == length {
                if f.separate { pending = f.style }
                return
            }
            if f.attached { redact(f.style, (r.lowerBound + length)..<r.upperBound); return }
            if b[r.lowerBound + length] == 61 { redact(f.style, (r.lowerBound + length + 1)..<r.upperBound); return }
        }
    }

    private func hasPrefix(_ r: Range<Int>, _ prefix: [UInt8]) -> Bool {
        guard r.count >= prefix.count else { return false }
        for k in 0..<prefix.count where b[r.lowerBound + k] != prefix[k] { return false }
        return true
    }

    /// The tool a word names: its last path component, unquoted, lower-cased.
    private func commandTool(_ r: Range<Int>) -> Credentials.Tool? {
        key.removeAll(keepingCapacity: true)
        var hash = Credentials.fnvBasis
        work += r.count
        for k in r {
            let c = b[k]
            if c == 47 { key.removeAll(keepingCapacity: true); hash = Credentials.fnvBasis; continue }
            if Credentials.isQuote(c) { continue }
            key.append(Credentials.lowercased(c))
            hash = Credentials.fnv(hash, Credentials.lowercased(c))
        }
        return key.isEmpty ? nil : Credentials.tool(key, hash: hash)
    }

    private func redact(_ style: Credentials.Style, _ r: Range<Int>) {
        var inner = r
        // `'user:pass'` keeps its quotes around `user:****`.
        if inner.count >= 2, Credentials.isQuote(b[inner.lowerBound]), b[inner.upperBound - 1] == b[inner.lowerBound] {
            inner = (inner.lowerBound + 1)..<(inner.upperBound - 1)
        }
        func after(_ separator: UInt8) -> Range<Int>? {
            guard let k = b[inner].firstIndex(of: separator) else { return nil }
            return (k + 1)..<inner.upperBound
        }
        var value: Range<Int>?
        switch style {
        case .value: value = r
        case .afterColon: value = after(58)
        case .afterPercent: value = after(37)
        case .afterPassPrefix:
            let prefix = Array("pass:".utf8)
            if inner.count > prefix.count, hasPrefix(inner, prefix) {
                value = (inner.lowerBound + prefix.count)..<inner.upperBound
            }
        case .login:
            if let slash = b[inner].firstIndex(of: 47), slash > inner.lowerBound {
                let end = b[(slash + 1)..<inner.upperBound].firstIndex(of: 64) ?? inner.upperBound
                value = (slash + 1)..<end
            }
        }
        work += r.count
        if let value, !value.isEmpty { found.append(value) }
    }
}
