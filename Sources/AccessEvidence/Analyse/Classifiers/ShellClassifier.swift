/// Classifies shell input: each simple command of each pipeline, with quoting respected,
/// `sudo`/`env` prefixes unwrapped, and kubectl, helm and redis-cli understood.
public enum ShellClassifier {
    public static func classify(_ script: String) -> Set<CommandKind> {
        var kinds = Set<CommandKind>()
        for pipeline in pipelines(script) {
            let commands = pipeline.map { unwrap($0[...]) }
            for (index, command) in commands.enumerated() where !command.words.isEmpty || command.script != nil {
                kinds.formUnion(classify(command))
                // curl … | sh: code fetched from the network runs here.
                if index > 0, let fetcher = commands[index - 1].words.first.map(basename), ["curl", "wget"].contains(fetcher),
                   let runner = command.words.first.map(basename),
                   ["sh", "bash", "zsh", "dash", "ksh", "python", "python3", "perl", "ruby", "node"].contains(runner) {
                    kinds.insert(.shellRemoteCode)
                }
            }
        }
        return kinds
    }

    /// A simple command with its wrappers taken off: `sudo -u x env A=1 cmd …` → `cmd …`, privileged;
    /// `su -c "cmd"` → the script `cmd`. Done in one loop over a slice, so stacked wrappers
    /// (`sudo sudo sudo …`) cost nothing more than their words.
    struct Unwrapped {
        var words: ArraySlice<String>
        var privileged = false
        var script: String?
    }

    static let privilegeWrappers: Set<String> = ["sudo", "su", "doas", "pkexec", "runuser"]
    /// Options of the privilege wrappers that take a value: sudo -u user, -g group, -p prompt, …
    static let wrapperOptionsWithValue: Set<String> = ["-u", "-g", "-U", "-C", "-h", "-p", "-r", "-t"]
    static let launchers: Set<String> = ["env", "nohup", "time", "nice", "exec", "command", "builtin"]

    static func unwrap(_ words: ArraySlice<String>) -> Unwrapped {
        var result = Unwrapped(words: strip(words))
        while let head = result.words.first.map(basename), privilegeWrappers.contains(head) {
            result.privileged = true
            var rest = result.words.dropFirst()
            while let f = rest.first, f.hasPrefix("-") {
                rest = rest.dropFirst()
                if f == "-c", let script = rest.first {
                    result.words = []
                    result.script = script
                    return result
                }
                if wrapperOptionsWithValue.contains(f), !rest.isEmpty { rest = rest.dropFirst() }
            }
            result.words = strip(rest)
        }
        return result
    }

    static func basename(_ word: String) -> String {
        word.split(separator: "/").last.map(String.init) ?? word
    }

    /// Drops leading `VAR=value` assignments and wrappers that only change how a command runs.
    static func strip(_ words: ArraySlice<String>) -> ArraySlice<String> {
        var w = words
        while let first = w.first, first.contains("="), !first.hasPrefix("-"), first.first?.isLetter == true || first.first == "_" {
            w = w.dropFirst()
        }
        while let first = w.first.map(basename), launchers.contains(first) {
            w = w.dropFirst()
            while let f = w.first, f.hasPrefix("-") || (f.contains("=") && first == "env") { w = w.dropFirst() }
        }
        return w
    }

    static func classify(_ command: Unwrapped) -> Set<CommandKind> {
        let escalation: Set<CommandKind> = command.privileged ? [.shellPrivilegeEscalation] : []
        if let script = command.script { return classify(script).union(escalation) }
        return classify(words: Array(command.words)).union(escalation)
    }

    /// `words` has no wrappers left (see `unwrap`).
    static func classify(words: [String]) -> Set<CommandKind> {
        guard let head = words.first.map(basename) else { return [] }
        let args = Array(words.dropFirst())
        let flags = args.filter { $0.hasPrefix("-") }
        func hasFlag(_ short: Character, long: String) -> Bool {
            flags.contains { f in
                f == "--" + long || (!f.hasPrefix("--") && f.dropFirst().contains(short))
            }
        }
        switch head {
        case "sudo", "su", "doas", "pkexec", "runuser":
            return classify(unwrap(words[...]))
        case "rm":
            return hasFlag("r", long: "recursive") || hasFlag("R", long: "recursive") ? [.shellDestructive] : [.shellRead]
        case "shred", "mkfs", "fdisk", "parted", "wipefs", "truncate":
            return [.shellDestructive]
        case "dd":
            return args.contains { $0.hasPrefix("of=") } ? [.shellDestructive] : [.shellRead]
        case _ where head.hasPrefix("mkfs."):
            return [.shellDestructive]
        case "chmod", "chown", "chgrp", "setfacl", "chattr":
            return [.shellPermissions]
        case "systemctl":
            let mutating: Set<String> = ["start", "stop", "restart", "reload", "enable", "disable", "mask", "unmask", "kill", "edit", "set-property", "daemon-reload", "isolate", "poweroff", "reboot"]
            return args.contains(where: mutating.contains) ? [.shellService] : [.shellRead]
        case "service":
            return args.count >= 2 && ["start", "stop", "restart", "reload"].contains(args[1]) ? [.shellService] : [.shellRead]
        case "kill", "killall", "pkill", "shutdown", "reboot", "halt", "poweroff", "init", "crontab", "iptables", "ip6tables", "nft", "ufw", "mount", "umount", "sysctl", "insmod", "rmmod", "modprobe":
            if head == "crontab", !args.contains("-e"), !args.contains("-r") { return [.shellRead] }
            return [.shellService]
        case "useradd", "userdel", "usermod", "groupadd", "groupdel", "groupmod", "passwd", "chpasswd", "adduser", "deluser", "visudo", "gpasswd":
            return [.shellAccountChange]
        case "apt", "apt-get", "yum", "dnf", "apk", "zypper", "rpm", "dpkg", "pip", "pip3", "npm", "gem", "snap", "brew":
            let installing: Set<String> = ["install", "remove", "purge", "upgrade", "dist-upgrade", "uninstall", "add", "del", "-i", "-e", "-U", "--install", "erase", "update"]
            return args.contains(where: installing.contains) ? [.shellPackage] : [.shellRead]
        case "kubectl", "oc":
            return KubectlClassifier.classify(args)
        case "helm":
            let mutating: Set<String> = ["install", "upgrade", "uninstall", "delete", "rollback", "del"]
            return args.first(where: { !$0.hasPrefix("-") }).map { mutating.contains($0) ? [.k8sMutation] : [.k8sRead] } ?? [.k8sRead]
        case "redis-cli":
            // Skip options (and their values) to reach the command.
            var rest = args[...]
            while let f = rest.first, f.hasPrefix("-") {
                rest = rest.dropFirst()
                if ["-h", "-p", "-a", "-n", "-u", "--user", "--pass", "-s"].contains(f) { rest = rest.dropFirst() }
            }
            return rest.isEmpty ? [.redisRead] : RedisClassifier.classify(Array(rest))
        case "psql", "mysql", "sqlcmd", "mariadb", "clickhouse-client", "cockroach":
            // An inline statement: psql -c "…", mysql -e "…".
            for (i, a) in args.enumerated() where ["-c", "-e", "--command", "--execute", "-Q", "-q"].contains(a) && i + 1 < args.count {
                return SQLClassifier.classify(args[i + 1])
            }
            return [.sqlRead]
        case "mongosh", "mongo":
            for (i, a) in args.enumerated() where a == "--eval" && i + 1 < args.count {
                return MongoClassifier.classify(args[i + 1])
            }
            return [.mongoRead]
        case "bash", "sh", "zsh", "dash":
            if let i = args.firstIndex(of: "-c"), i + 1 < args.count { return classify(args[i + 1]) }
            return [.shellRead]
        default:
            if let redis = RedisClassifier.classifyBare(words) { return redis }
            return [.shellRead]
        }
    }

    /// Splits a script into pipelines (`;`, `&&`, `||`, newlines, `&` end one; `|` joins
    /// commands inside one) of word lists, honouring quotes, escapes and comments.
    static func pipelines(_ script: String) -> [[[String]]] {
        var result: [[[String]]] = []
        var pipeline: [[String]] = []
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var chars = Array(script)
        if chars.count > 200_000 { chars = Array(chars.prefix(200_000)) }
        var i = 0
        func endWord() {
            if inWord { words.append(word) }
            word = ""; inWord = false
        }
        func endCommand() {
            endWord()
            if !words.isEmpty { pipeline.append(words) }
            words = []
        }
        func endPipeline() {
            endCommand()
            if !pipeline.isEmpty { result.append(pipeline) }
            pipeline = []
        }
        while i < chars.count {
            let c = chars[i]
            if let q = quote {
                if c == q { quote = nil }
                else if c == "\\" && q == "\"" && i + 1 < chars.count { i += 1; word.append(chars[i]) }
                else { word.append(c) }
                i += 1
                continue
            }
            switch c {
            case "'", "\"":
                quote = c; inWord = true
            case "\\":
                if i + 1 < chars.count { i += 1; if chars[i] != "\n" { word.append(chars[i]); inWord = true } }
            case " ", "\t", "\r":
                endWord()
            case "\n", ";":
                endPipeline()
            case "&":
                if i + 1 < chars.count, chars[i + 1] == "&" { i += 1 }
                endPipeline()
            case "|":
                if i + 1 < chars.count, chars[i + 1] == "|" { i += 1; endPipeline() } else { endCommand() }
            case "#" where !inWord:
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            case "(", ")", "`":
                endCommand()
            case "$" where i + 1 < chars.count && chars[i + 1] == "(":
                endCommand(); i += 1
            default:
                word.append(c); inWord = true
            }
            i += 1
        }
        endPipeline()
        return result
    }
}

enum KubectlClassifier {
    static let valueFlags: Set<String> = ["-n", "--namespace", "--context", "--cluster", "--kubeconfig", "-l", "--selector", "-o", "--output", "-f", "--filename", "-c", "--container", "--user", "-s", "--server", "--as"]

    static func classify(_ args: [String]) -> Set<CommandKind> {
        var verbs: [String] = []
        var skip = false
        for a in args {
            if skip { skip = false; continue }
            if a == "--" { break }
            if a.hasPrefix("-") {
                if valueFlags.contains(a) { skip = true }
                continue
            }
            verbs.append(a)
        }
        guard let verb = verbs.first else { return [.k8sRead] }
        switch verb {
        case "delete", "apply", "edit", "patch", "scale", "replace", "create", "set", "label", "annotate", "drain",
             "cordon", "uncordon", "taint", "expose", "run", "autoscale":
            return [.k8sMutation]
        case "rollout":
            return verbs.count > 1 && ["restart", "undo", "pause", "resume"].contains(verbs[1]) ? [.k8sMutation] : [.k8sRead]
        case "exec", "cp", "attach", "port-forward", "debug", "proxy":
            return [.k8sExec]
        default:
            return [.k8sRead]
        }
    }
}

enum RedisClassifier {
    static let destructive: Set<String> = ["FLUSHALL", "FLUSHDB", "SHUTDOWN", "DEBUG", "SWAPDB", "REPLICAOF", "SLAVEOF", "MIGRATE", "RESTORE", "MODULE", "FAILOVER", "ACL"]
    static let writes: Set<String> = ["SET", "DEL", "UNLINK", "HSET", "HDEL", "LPUSH", "RPUSH", "SADD", "SREM", "ZADD", "ZREM", "EXPIRE", "RENAME", "INCR", "DECR", "MSET", "APPEND", "EVAL", "EVALSHA", "XADD", "PUBLISH", "GETDEL", "SETEX", "PERSIST"]
    static let reads: Set<String> = ["GET", "MGET", "KEYS", "SCAN", "HGET", "HGETALL", "LRANGE", "SMEMBERS", "ZRANGE", "TTL", "TYPE", "EXISTS", "INFO", "PING", "DBSIZE", "MONITOR", "CLIENT", "SLOWLOG", "STRLEN", "XRANGE", "SUBSCRIBE"]

    static func classify(_ words: [String]) -> Set<CommandKind> {
        guard let first = words.first?.uppercased() else { return [.redisRead] }
        if destructive.contains(first) { return [.redisDestructive] }
        if first == "CONFIG" {
            return words.count > 1 && ["SET", "RESETSTAT", "REWRITE"].contains(words[1].uppercased()) ? [.redisDestructive] : [.redisRead]
        }
        if writes.contains(first) { return [.redisWrite] }
        return [.redisRead]
    }

    /// A redis command typed at the redis-cli prompt (no `redis-cli` before it). Only the
    /// unambiguous ones count: `set` or `get` alone could be anything.
    static func classifyBare(_ words: [String]) -> Set<CommandKind>? {
        guard let first = words.first?.uppercased() else { return nil }
        if destructive.contains(first) && first != "DEBUG" && first != "ACL" { return [.redisDestructive] }
        if first == "CONFIG", words.count > 1, words[1].uppercased() == "SET" { return [.redisDestructive] }
        return nil
    }
}

enum MongoClassifier {
    static func classify(_ text: String) -> Set<CommandKind> {
        // Strip string literals so that a method name quoted in data does not count.
        var stripped = ""
        var quote: Character?
        for c in text {
            if let q = quote { if c == q { quote = nil }; continue }
            if c == "\"" || c == "'" || c == "`" { quote = c; continue }
            stripped.append(c)
        }
        let lower = stripped.lowercased()
        func calls(_ names: [String]) -> Bool {
            names.contains { lower.contains("." + $0.lowercased() + "(") || lower.contains("\"" + $0.lowercased() + "\"") }
        }
        if calls(["dropDatabase", "drop", "dropIndexes", "dropUser", "dropAllUsers", "dropRole", "renameCollection", "shutdownServer"]) {
            return [.mongoDestructive]
        }
        if calls(["insertOne", "insertMany", "insert", "updateOne", "updateMany", "update", "deleteOne", "deleteMany",
                  "remove", "replaceOne", "findOneAndUpdate", "findOneAndDelete", "findOneAndReplace", "bulkWrite",
                  "createIndex", "createCollection", "createUser", "grantRolesToUser", "updateUser"]) {
            return [.mongoWrite]
        }
        // Wire-level OP_MSG commands arrive as JSON documents: {"delete": "users", …}.
        for command in ["\"delete\"", "\"update\"", "\"insert\"", "\"findandmodify\""] where text.lowercased().contains(command) {
            return [.mongoWrite]
        }
        for command in ["\"drop\"", "\"dropdatabase\""] where text.lowercased().contains(command) {
            return [.mongoDestructive]
        }
        return [.mongoRead]
    }
}

enum HTTPClassifier {
    /// An HTTP request line: `DELETE /api/v1/namespaces/prod/pods/x HTTP/1.1`.
    static func classify(_ text: String) -> Set<CommandKind> {
        guard let method = text.split(separator: " ", maxSplits: 1).first.map({ $0.uppercased() }),
              text.contains(" HTTP/") || text.hasPrefix(method + " /") else { return [] }
        switch method {
        case "GET", "HEAD", "OPTIONS": return [.httpRead]
        case "POST", "PUT", "PATCH", "DELETE": return [.httpWrite]
        default: return []
        }
    }
}
