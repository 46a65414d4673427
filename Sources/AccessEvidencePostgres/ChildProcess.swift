import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a command to completion, by posix_spawn rather than Foundation's Process: a server the
/// command leaves running (pg_ctl's) would inherit the descriptors Process watches for the child's
/// exit, and the wait would never end; so our descriptors are marked close-on-exec first. The
/// child's resource usage comes back with it, for the benchmark's peak-memory figures.
public enum ChildProcess {
    public struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended it.
        public var status: Int32
        public var output: String
        /// Peak resident set of the child, in KiB.
        public var maxResidentKiB: Int
        public var seconds: Double
        /// User plus system CPU time of the child: steadier than `seconds` on a shared machine.
        public var cpuSeconds: Double = 0
        public var succeeded: Bool { status == 0 }
    }

    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("access-evidence-cmd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }.map { "\($0)=\($1)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let start = DispatchTime.now().uptimeNanoseconds
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else {
            throw ThrowawayCluster.Failure(description: "cannot run \(executable): \(String(cString: strerror(rc)))")
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let signal = status & 0x7f
        return Result(status: signal == 0 ? (status >> 8) & 0xff : 128 + signal,
                      output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "",
                      maxResidentKiB: usage.ru_maxrss, seconds: seconds,
                      cpuSeconds: Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6)
    }
}
