import Foundation
import Yams

struct Problems {
    var list: [String] = []
    mutating func add(_ s: String) { list.append(s) }
}

/// Typed access to a YAML document that records a located problem instead of throwing.
final class YAMLFile {
    struct Location: CustomStringConvertible {
        let file: String
        let line: Int
        let column: Int
        var description: String { "\(file):\(line):\(column)" }
    }

    let name: String
    var problems: Problems

    init(name: String, problems: Problems) {
        self.name = name
        self.problems = problems
    }

    func location(_ node: Node) -> Location {
        Location(file: name, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    func fail(_ node: Node, _ message: String) { fail(at: location(node), message) }
    func fail(at location: Location, _ message: String) { problems.add("\(location): \(message)") }

    func parse(_ text: String) -> Node? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                problems.add("\(name):1:1: empty file")
                return nil
            }
            return node
        } catch let error as YamlError {
            problems.add("\(name):\(Self.describe(error))")
            return nil
        } catch {
            problems.add("\(name):1:1: \(error)")
            return nil
        }
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            return "\(mark.line):\(mark.column): \(problem)\(context.map { " \($0.text)" } ?? "")"
        case .duplicatedKeysInMapping(let duplicates, let context):
            return "\(context.mark.line):\(context.mark.column): duplicate key \(duplicates.joined(separator: ", "))"
        default:
            return "1:1: \(error)"
        }
    }

    func mapping(_ node: Node, _ what: String) -> [(String, Node)]? {
        guard case .mapping(let m) = node else {
            fail(node, "\(what) must be a mapping")
            return nil
        }
        var out: [(String, Node)] = []
        for (k, v) in m {
            guard let key = k.string else { fail(k, "keys must be strings"); continue }
            out.append((key, v))
        }
        return out
    }

    func sequence(_ node: Node, _ what: String) -> [Node]? {
        guard case .sequence(let s) = node else {
            fail(node, "\(what) must be a list")
            return nil
        }
        return Array(s)
    }

    func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let s) = node, s.style != .plain || node.null == nil else {
            fail(node, "\(what) must be a string")
            return nil
        }
        guard !s.string.trimmed(.whitespaces).isEmpty else {
            fail(node, "\(what) must not be empty")
            return nil
        }
        return s.string
    }

    func bool(_ node: Node, _ what: String) -> Bool? {
        guard let b = node.bool else { fail(node, "\(what) must be true or false"); return nil }
        return b
    }

    func stringList(_ node: Node, _ what: String) -> [String]? {
        guard let items = sequence(node, what) else { return nil }
        var out: [String] = []
        for item in items {
            guard case .scalar = item, let s = string(item, "each entry of \(what)") else {
                if case .scalar = item {} else { fail(item, "each entry of \(what) must be a string") }
                continue
            }
            out.append(s)
        }
        return out
    }

    func parameter(_ node: Node, kind: ParameterKind, name: String) -> ParameterValue? {
        let what = "parameter '\(name)'"
        switch kind {
        case .string:
            return string(node, what).map(ParameterValue.string)
        case .integer:
            guard case .scalar = node, let i = node.int else { fail(node, "\(what) must be an integer"); return nil }
            return .integer(i)
        case .number:
            guard case .scalar = node, let d = node.float else { fail(node, "\(what) must be a number"); return nil }
            return .number(d)
        case .boolean:
            return bool(node, what).map(ParameterValue.boolean)
        case .strings:
            return stringList(node, what).map(ParameterValue.strings)
        case .regexes:
            guard let list = stringList(node, what) else { return nil }
            for pattern in list where (try? NSRegularExpression(pattern: pattern)) == nil {
                fail(node, "\(what): '\(pattern)' is not a valid regular expression")
                return nil
            }
            return .strings(list)
        case .selectorLists:
            guard let entries = mapping(node, what) else { return nil }
            var map: [String: [String]] = [:]
            for (selector, listNode) in entries {
                let parts = selector.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, ["tag", "protocol", "connection"].contains(parts[0]), !parts[1].isEmpty else {
                    fail(listNode, "\(what): selector '\(selector)' must be tag:NAME, protocol:NAME or connection:NAME")
                    return nil
                }
                if parts[0] == "protocol", ConnectionProtocol(rawValue: String(parts[1])) == nil {
                    fail(listNode, "\(what): unknown protocol '\(parts[1])' (known: \(ConnectionProtocol.allCases.map(\.rawValue).joined(separator: ", ")))")
                    return nil
                }
                guard let list = stringList(listNode, "\(what) '\(selector)'") else { return nil }
                map[selector] = list
            }
            return .listMap(map)
        case .duration:
            guard case .scalar(let s) = node, let d = ParameterValue.parseDuration(s.string) else {
                fail(node, "\(what) must be a duration such as 30m, 24h or 7d")
                return nil
            }
            return .duration(d)
        }
    }

    struct Fields {
        let values: [String: Node]
        let file: YAMLFile
        func node(_ key: String) -> Node? { values[key] }
        func string(_ key: String) -> String? { values[key].flatMap { file.string($0, key) } }
    }

    /// Checks a mapping's keys: every required one present, nothing unknown.
    func fields(_ m: [(String, Node)], at node: Node, required: [String], optional: [String]) -> Fields {
        var values: [String: Node] = [:]
        for (k, v) in m {
            if required.contains(k) || optional.contains(k) { values[k] = v } else {
                fail(v, "unknown field '\(k)'")
            }
        }
        let missing = required.filter { values[$0] == nil }
        if !missing.isEmpty {
            let idHint = values["id"].flatMap { $0.string }.map { " in '\($0)'" } ?? ""
            fail(node, "missing field\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))\(idHint)")
        }
        return Fields(values: values, file: self)
    }
}
