import Foundation

/// A store of a few sessions with very long recordings (hoop allows about 110 MiB each): what the
/// benchmark measures memory on, since peak memory must follow the largest recording, not how many
/// of them a batch of rows holds.
public enum LargeRecordingStore {
    /// `sessions` interactive sessions on one production connection in 2026-Q3, each with a recording of
    /// about `megabytes` MB of terminal output (base64 in hoop's JSON, as hoop stores it).
    public static func write(to path: String, sessions: Int, megabytes: Int) throws {
        let writer = try StoreWriter(path: path)
        let org = "0a000000-0000-4000-8000-000000000001"
        try writer.insert("users", ["id": .text("b0000000-0000-4000-8000-000000000001"), "org_id": .text(org), "subject": .text("okta|ops"),
                                    "email": .text("ops@acme.example"), "name": .text("Ops"), "status": .text("active"),
                                    "created_at": .text("2026-01-01T00:00:00Z"), "updated_at": .text("2026-01-01T00:00:00Z")])
        try writer.insert("connections", ["id": .text("c0000000-0000-4000-8000-000000000001"), "org_id": .text(org), "name": .text("ssh-bastion"),
                                          "type": .text("application"), "subtype": .text("ssh"), "_tags": .text("[\"env=prod\"]")])
        // One event carries 48 KiB of log lines: about 64 KiB of base64.
        var chunk = ""
        var line = 0
        while chunk.utf8.count < 48 << 10 {
            line += 1
            chunk += "2026-08-03T10:\(String(format: "%02d:%02d", (line / 60) % 60, line % 60)) INFO api request id=\(line * 7919) status=200 bytes=\(line * 31)\n"
        }
        let event = Data(chunk.utf8).base64EncodedString()
        let events = max(1, (megabytes << 20) / event.utf8.count)
        let start = Timestamp.parse("2026-08-03T10:00:00Z")!
        for n in 0..<sessions {
            var recording = "["
            recording.reserveCapacity(events * (event.utf8.count + 24) + 64)
            recording += "[0.5,\"i\",\"\(Data("tail -f /var/log/api.log\r".utf8).base64EncodedString())\"]"
            for e in 0..<events { recording += ",[\(Double(e + 1)),\"o\",\"\(event)\"]" }
            recording += "]"
            let id = String(format: "f0000000-0000-4000-8000-%012d", n)
            let blob = String(format: "f1000000-0000-4000-8000-%012d", n)
            let created = start.addingTimeInterval(Double(n) * 3_600)
            try writer.insert("blobs", ["id": .text(blob), "org_id": .text(org), "type": .text("session-stream"), "blob_stream": .text(recording)])
            try writer.insert("sessions", [
                "id": .text(id), "org_id": .text(org), "connection": .text("ssh-bastion"), "connection_type": .text("application"),
                "connection_subtype": .text("ssh"), "connection_tags": .text("{\"env\":\"prod\"}"), "verb": .text("connect"),
                "user_id": .text("okta|ops"), "user_email": .text("ops@acme.example"), "user_name": .text("Ops"), "status": .text("done"),
                "exit_code": .int(0), "blob_stream_id": .text(blob), "metrics": .text("{}"), "identity_type": .text("user"),
                "created_at": .text(Timestamp.format(created)), "ended_at": .text(Timestamp.format(created.addingTimeInterval(Double(events + 2)))),
            ])
        }
        try writer.finish()
    }
}
