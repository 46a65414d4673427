@testable import AccessEvidence
import Foundation
import Testing

/// The masking of sensitive values and credentials, and the output gate everything quoted goes through.
@Suite struct MaskingTests {
    // MARK: Sensitive values on the normalised form

    @Test(arguments: [
        ("4111.1111_1111/1111", "4111 **** **** 1111"),
        ("4111-1111 1111.1111", "4111 **** **** 1111"),
        ("4111 - 1111 - 1111 - 1111", "4111 **** **** 1111"),
        ("card\t4111\t1111\t1111\t1111.", "card\t4111 **** **** 1111."),
        ("４１１１ １１１１ １１１１ １１１１", "4111 **** **** 1111"),
        ("４１１１－１１１１－１１１１－１１１１", "4111 **** **** 1111"),
        ("pan=４１１１１１１１１１１１１１１１;", "pan=4111 **** **** 1111;"),
        ("4111\u{200B}1111\u{200B}1111\u{200B}1111", "4111 **** **** 1111"),
        ("4111\u{200C}1111\u{200D}1111\u{2060}1111 x", "4111 **** **** 1111 x"),
        ("4\u{00AD}1\u{FEFF}1\u{200E}1\u{200F}111111111111", "4111 **** **** 1111"),
        // Invisible characters inside the value go with it; one after it stays.
        ("4111\u{202E}1111\u{202C}1111\u{2066}1111\u{2069}", "4111 **** **** 1111\u{2069}"),
        ("card 4111\u{00A0}1111\u{202F}1111\u{2009}1111 ok", "card 4111 **** **** 1111 ok"),
        ("4111\u{2007}1111\u{3000}1111\u{2013}1111", "4111 **** **** 1111"),
        ("\u{0664}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}\u{0661}", "4111 **** **** 1111"),
        ("\u{096A}\u{0967}\u{0967}\u{0967} \u{0967}\u{0967}\u{0967}\u{0967} \u{0967}\u{0967}\u{0967}\u{0967} \u{0967}\u{0967}\u{0967}\u{0967}", "4111 **** **** 1111"),
        ("amex 3782\u{00A0}822463\u{00A0}10005", "amex 3782 **** **** 0005"),
        ("4111 1111 1111 1111 12", "4111 **** **** 1111 12"),
        ("ssn １２３-４５-６７８９", "ssn ***-**-6789"),
        ("ssn 123\u{2011}45\u{2011}6789", "ssn ***-**-6789"),
        ("key AKIA\u{200B}IOSFODNN7EXAMPLE", "key AKIA************MPLE"),
        ("key ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ", "key AKIA************MPLE"),
        ("mail jane＠corp.example", "mail j***@corp.example"),
        ("mail ja\u{200B}ne@corp.example", "mail j***@corp.example"),
        ("GB82\u{00A0}WEST\u{00A0}1234\u{00A0}5698\u{00A0}7654\u{00A0}32", "GB82 **** 32"),
        ("eyJhbGciOiJIUzI1NiJ9.\u{200B}eyJzdWIiOiIxMjM0In0.abcdefghijk", "eyJ***.[redacted JWT]"),
        ("ghp_\u{200C}16C7e42F292c6912E7710c838347Ae178B4a", "ghp_****8B4a"),
        ("-----BEGIN\u{00A0}RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- done", "[RSA PRIVATE KEY block redacted] done"),
    ])
    func masksOddlyWrittenValues(_ text: String, _ masked: String) {
        #expect(SensitiveData.mask(text) == masked, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
    }

    @Test func tagCharactersAreReadAsTheASCIITheyShadow() {
        // "ASCII smuggling": a card number in invisible tag characters.
        let hidden = String(String.UnicodeScalarView("4111111111111111".unicodeScalars.map { Unicode.Scalar($0.value + 0xE0000)! }))
        #expect(SensitiveData.mask("x " + hidden + " y") == "x 4111 **** **** 1111 y")
    }

    @Test func matchesAreReportedInOriginalOffsets() {
        let text = "ab ４１１１\u{200B}１１１１ 1111 1111 cd"
        let bytes = Array(text.utf8)
        let matches = SensitiveData.scan(bytes)
        #expect(matches.count == 1)
        let start = 3, end = bytes.count - 3
        #expect(matches.first?.range == start..<end)
        #expect(matches.first?.masked == "4111 **** **** 1111")
    }

    @Test(arguments: [
        "4111.1111_1111/1112",              // fails Luhn
        "4111-1111 1111.1112",
        "４１１１ １１１１ １１１１ １１１２",
        "4111\u{200B}1111\u{200B}1111\u{200B}1112",
        "4111111111111111.5",               // a decimal number
        "4111-1111-1111-1111-2",
        "41234567-8901-2349-6789-abcdef012345",  // its first 16 digits pass Luhn
        "41111111-1111-1111-1111-111111111111",
        "123e4567-e89b-12d3-a456-426614174000",
        "d41d8cd98f00b204e9800998ecf8427e 4111111111111111a",
        "sha256:4111111111111111deadbeef",
        "v1.2.3.4 10.4.12.2024 4.1.11.1111",
        "2026-09-30 2026-10-01 2026-11-02",
        "2026/09/30-2026/10/01 2026.09.30-1234",
        "192.168.100.200 10.0.0.1 172.16.254.1 255.255.255.0",
        "10.20.30.40:5432 [2001:db8::1]:443",
        "+1 415 555 2671, 1727712000123",
        "0x4111111111111111",
        "ssn 666-12-3456 000-12-3456 １２３-００-４５６７",
        "AKIA\u{200B}IOSFODNN7EXAMPL",
    ])
    func leavesLookAlikes(_ text: String) {
        #expect(SensitiveData.scan(Array(text.utf8)).isEmpty, "\(text)")
    }

    // MARK: Credentials

    @Test(arguments: [
        // Forms kept from before.
        ("psql postgres://admin:S3cret!@db.prod/app -c 'DROP TABLE x'", "psql postgres://admin:****@db.prod/app -c 'DROP TABLE x'"),
        ("CREATE USER etl WITH PASSWORD 'hunter2';", "CREATE USER etl WITH PASSWORD ****;"),
        ("ALTER USER 'app'@'%' IDENTIFIED BY \"pa ss\"", "ALTER USER 'app'@'%' IDENTIFIED BY ****"),
        ("PGPASSWORD=topsecret pg_dump -h db app", "PGPASSWORD=**** pg_dump -h db app"),
        ("mysql -u root -pRootPw -e 'DROP DATABASE shop'", "mysql -u root -p**** -e 'DROP DATABASE shop'"),
        ("curl --password=abc https://x", "curl --password=**** https://x"),
        ("GITHUB_TOKEN=abc DB_SECRET=def ./deploy", "GITHUB_TOKEN=**** DB_SECRET=**** ./deploy"),
        // URLs.
        ("psql 'postgresql://app:p@ss@db/x?sslmode=require'", "psql 'postgresql://app:****@db/x?sslmode=require'"),
        ("redis-cli -u redis://:pw@cache:6379/0 ping", "redis-cli -u redis://:****@cache:6379/0 ping"),
        // curl and HTTPie.
        ("curl -u admin:S3cr3t https://api.example", "curl -u admin:**** https://api.example"),
        ("curl --user admin:S3cr3t https://x", "curl --user admin:**** https://x"),
        ("curl -uadmin:pw https://x", "curl -uadmin:**** https://x"),
        ("curl -s -u 'admin:pa ss' https://x", "curl -s -u 'admin:****' https://x"),
        ("curl --proxy-user p:q -U r:s https://x", "curl --proxy-user p:**** -U r:**** https://x"),
        ("http -a alice:pw GET https://x", "http -a alice:**** GET https://x"),
        // Headers.
        ("curl -H 'Authorization: Bearer abc.def.ghi' https://x", "curl -H 'Authorization: Bearer ****' https://x"),
        ("curl -H \"Authorization: Basic dXNlcjpwYXNz\" https://x", "curl -H \"Authorization: Basic ****\" https://x"),
        ("curl -H 'authorization: token ghp_x' https://x", "curl -H 'authorization: token ****' https://x"),
        ("Authorization: abc123", "Authorization: ****"),
        ("{\"Authorization\": \"Bearer xyz\", \"n\": 1}", "{\"Authorization\": \"Bearer ****\", \"n\": 1}"),
        ("Authorization: Digest username=\"u\", response=\"6629fae4\"", "Authorization: Digest ****"),
        ("curl -H 'Proxy-Authorization: Basic cDpx' https://x", "curl -H 'Proxy-Authorization: Basic ****' https://x"),
        ("curl -H 'X-Api-Key: abc123' https://x", "curl -H 'X-Api-Key: ****' https://x"),
        ("api-key: abc123", "api-key: ****"),
        ("GET /v1/items?apikey=abc&limit=5", "GET /v1/items?apikey=****&limit=5"),
        ("GET /v1/items?api_key=abc#top", "GET /v1/items?api_key=****"),
        ("curl -H 'PRIVATE-TOKEN: glx' https://x", "curl -H 'PRIVATE-TOKEN: ****' https://x"),
        ("curl -H 'Cookie: sid=abc; theme=dark' https://x", "curl -H 'Cookie: ****' https://x"),
        ("Set-Cookie: sid=abc; Path=/; HttpOnly", "Set-Cookie: ****"),
        // Options with a separate value.
        ("mysql -u root --password secret shop", "mysql -u root --password **** shop"),
        ("mysql --pass secret -e 'select 1'", "mysql --pass **** -e 'select 1'"),
        ("mysql -u root -p secret", "mysql -u root -p ****"),
        ("docker exec db mysql -uroot -pS3cret -e 'select 1; select 2'", "docker exec db mysql -uroot -p**** -e 'select 1; select 2'"),
        ("mysql -e 'select 1; select 2' -pX", "mysql -e 'select 1; select 2' -p****"),
        ("mongosh -u admin -p pw --authenticationDatabase admin", "mongosh -u admin -p **** --authenticationDatabase admin"),
        ("redis-cli -h cache -a s3cret get k", "redis-cli -h cache -a **** get k"),
        ("sshpass -p 'pw' ssh host", "sshpass -p **** ssh host"),
        ("vault write x --token abc", "vault write x --token ****"),
        ("az login --service-principal --client-secret abc -t t", "az login --service-principal --client-secret **** -t t"),
        ("ldapsearch -x -D cn=admin -w secret -b dc=x", "ldapsearch -x -D cn=admin -w **** -b dc=x"),
        ("sqlcmd -S db -U sa -P 'Pa55' -Q 'select 1'", "sqlcmd -S db -U sa -P **** -Q 'select 1'"),
        ("sqlplus -s scott/tiger@orcl @run.sql", "sqlplus -s scott/****@orcl @run.sql"),
        ("openssl pkcs12 -in a.p12 -passin pass:hunter2", "openssl pkcs12 -in a.p12 -passin pass:****"),
        ("smbclient //srv/share -U alice%pw", "smbclient //srv/share -U alice%****"),
        ("7z x a.7z -pS3cret", "7z x a.7z -p****"),
        // Assignments.
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "aws_secret_access_key = ****"),
        ("env PGPASSWORD=x psql -h db", "env PGPASSWORD=**** psql -h db"),
        ("PGPASSWORD='top secret' pg_dump", "PGPASSWORD=**** pg_dump"),
        ("export MYSQL_PWD=\"pw\"; mysql", "export MYSQL_PWD=****; mysql"),
        ("REDISCLI_AUTH=pw redis-cli", "REDISCLI_AUTH=**** redis-cli"),
        ("{\"password\": \"x\", \"user\": \"y\"}", "{\"password\": ****, \"user\": \"y\"}"),
        ("{\"client_secret\":\"x\"}", "{\"client_secret\":****}"),
        ("spring.datasource.password=x", "spring.datasource.password=****"),
        ("Server=db;User Id=sa;Password=Pa55;", "Server=db;User Id=sa;Password=****;"),
        ("{:password => 'x'}", "{:password => ****}"),
        // SQL.
        ("UPDATE users SET password = crypt('x', gen_salt('bf')) WHERE id = 1", "UPDATE users SET password = **** WHERE id = 1"),
        ("SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", "SET PASSWORD FOR 'u'@'%' = PASSWORD(****)"),
        ("CREATE USER u IDENTIFIED WITH mysql_native_password BY 'x'", "CREATE USER u IDENTIFIED WITH mysql_native_password BY ****"),
        ("ALTER USER scott IDENTIFIED BY tiger;", "ALTER USER scott IDENTIFIED BY ****;"),
        ("ALTER ROLE app WITH LOGIN PASSWORD\n'it''s'", "ALTER ROLE app WITH LOGIN PASSWORD[U+000A]****"),
        ("CREATE USER x PASSWORD 'unterminated; DROP TABLE y", "CREATE USER x PASSWORD ****"),
        // Odd characters.
        ("ＰＧＰＡＳＳＷＯＲＤ＝x psql", "ＰＧＰＡＳＳＷＯＲＤ＝**** psql"),
        ("PGPASS\u{200B}WORD=x psql", "PGPASS[U+200B]WORD=**** psql"),
        ("token=\u{1}abc next", "token=**** next"),
        ("token=\tabc next", "token=[U+0009]**** next"),
        ("GET / HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nHost: x", "GET / HTTP/1.1[U+000D][U+000A]Proxy-Authorization: Basic ****[U+000D][U+000A]Host: x"),
    ])
    func redactsCredentials(_ text: String, _ shown: String) {
        #expect(OutputGate.text(text) == shown, "\(text)")
    }

    @Test(arguments: [
        "SELECT password_hash FROM users",
        "SELECT password FROM t WHERE id = 1",
        "SELECT `password`, `token` FROM `users`",
        "passwd alice",
        "ls -la /etc/passwd && grep -r token src/",
        "mkdir -p /srv/app && ls https://example.org/a",
        "mysqldump --single-transaction shop > shop.sql",
        "mysql -P 3306 -h db -u app shop",
        "mysql -p < dump.sql",
        "psql -p 5432 -U app -h db",
        "redis-cli -p 6380 info",
        "docker run --user 1000:1000 -p 8080:80 img",
        "curl -u alice https://x && mkdir -p /tmp/a",
        "curl https://host:8443/path?to=ana@acme.example",
        "kubectl get secret db-creds -o yaml",
        "SECRET_NAME=db-creds PASSWORD_FILE=/run/secrets/db TOKEN_TTL=30 ./run",
        "echo $PWD; PWD=/srv OLDPWD=/ cd -",
        "token ghp_short; the password is required",
        "Authorization failed for user bob",
        "let t = Token::new(); x = 'a'::text",
        "sqlplus / as sysdba",
        "ana@acme.example ran it",
    ])
    func leavesPlainWords(_ text: String) {
        #expect(OutputGate.text(text) == text)
    }

    @Test func masksUntilNothingChanges() {
        // The token runs into the IBAN; its mask keeps its last four characters, which begin the IBAN.
        #expect(OutputGate.text("ghp_16C7e42F292c6912E7710c838347Ae178B4aGB82 WEST 1234 5698 7654 32") == "ghp_****GB82 **** 32")
        // Masking the SSN ends the run of digits the card number was read in.
        #expect(OutputGate.text("5500-0000-0000-0004/536-22-1234") == "5500 **** **** 0004/***-**-1234")
    }

    @Test func passwordsAreRedactedWholeBeforeMasking() {
        // A card number as a password goes whole; masking would have shown its ends.
        #expect(OutputGate.text("PGPASSWORD=4111111111111111 psql") == "PGPASSWORD=**** psql")
        #expect(Credentials.redact("mysql -p4111111111111111") == "mysql -p****")
    }

    // MARK: The gate

    @Test(arguments: [
        ("a\tb\nc\r", "a[U+0009]b[U+000A]c[U+000D]"),
        ("\u{0}\u{1B}[31m\u{7F}", "[U+0000][U+001B][31m[U+007F]"),
        ("x\u{80}\u{85}\u{9F}y", "x[U+0080][U+0085][U+009F]y"),
        ("abc\u{202E}fed\u{2066}\u{2069}\u{200E}\u{200F}\u{061C}", "abc[U+202E]fed[U+2066][U+2069][U+200E][U+200F][U+061C]"),
        ("a\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}\u{00AD}b", "a[U+200B][U+200C][U+200D][U+2060][U+FEFF][U+00AD]b"),
        ("line\u{2028}para\u{2029}", "line[U+2028]para[U+2029]"),
        ("tag \u{E0041}\u{E007F}", "tag [U+E0041][U+E007F]"),
        ("filler \u{3164} \u{115F}", "filler [U+3164] [U+115F]"),
        ("café ❤️ 日本 e\u{301}", "café ❤️ 日本 e\u{301}"),
        ("by ana@acme.example: card 4111 1111 1111 1111", "by ana@acme.example: card 4111 **** **** 1111"),
        ("card 4111\t1111\t1111\t1111", "card 4111 **** **** 1111"),
        ("card 4111\u{200B}1111 1111 1111\u{200B}", "card 4111 **** **** 1111[U+200B]"),
        ("literal [U+0041] and [U+0009]", "literal [U+0041] and [U+0009]"),
    ])
    func showsControlsAsCodes(_ text: String, _ shown: String) {
        #expect(OutputGate.text(text) == shown)
    }

    @Test func showsNoncharactersAsCodes() {
        // Swift's literals refuse noncharacters, so they are built from their values.
        let text = "x" + String(String.UnicodeScalarView([0xFFFE, 0xFFFF, 0xFDD0, 0x1FFFE, 0x10FFFF].map { Unicode.Scalar($0)! }))
        #expect(OutputGate.text(text) == "x[U+FFFE][U+FFFF][U+FDD0][U+1FFFE][U+10FFFF]")
    }

    @Test func plainTextComesBackAsItIs() {
        let text = "SELECT id, name FROM customers WHERE region = 'eu' LIMIT 20"
        #expect(OutputGate.text(text) == text)
        #expect(OutputGate.excerpt(text) == text)
    }

    @Test func evidenceUsesTheGate() {
        let text = "mail ana@acme.example \t and\n\n PGPASSWORD=x \u{1B}[0m"
        #expect(OutputGate.excerpt(text) == "mail a***@acme.example and PGPASSWORD=**** [U+001B][0m")
        #expect(Evidence.excerpt(text) == OutputGate.excerpt(text))
        #expect(Evidence.reason(text) == OutputGate.text(text))
        #expect(OutputGate.text(text) == "mail ana@acme.example [U+0009] and[U+000A][U+000A] PGPASSWORD=**** [U+001B][0m")
    }

    @Test func excerptsAreBoundedOutsideVisibleCodes() {
        let controls = String(repeating: "\u{1}", count: 100)
        #expect(OutputGate.excerpt(controls, limit: 12) == "[U+0001] …[792 more characters]")
        #expect(OutputGate.excerpt(controls, limit: 16) == "[U+0001][U+0001] …[784 more characters]")
        #expect(OutputGate.excerpt("abcdef", limit: 3) == "abc …[3 more characters]")
        #expect(OutputGate.excerpt("abc", limit: 3) == "abc")
        // White space collapses before masking, so runs of it cannot split a value.
        #expect(OutputGate.excerpt("  4111 \u{00A0}1111\n\t1111\u{3000}\u{3000}1111  ") == "4111 **** **** 1111")
    }

    /// Inputs the gate should be stable on: everything in this suite, and combinations of the
    /// fragments that make the scanners' decisions.
    static var gateInputs: [String] {
        var inputs: [String] = [
            "PASSWORD ****", "IDENTIFIED BY ****", "-u user:****", "x://u:****@h", "Authorization: Bearer ****",
            "4111 **** **** 1111", "j***@corp.example", "[U+0009]", "token=[U+0009]abc", "a[U+200B]b",
        ]
        let fragments = ["password", "PASSWORD", "=", ":", " ", "  ", "'", "\"", "\t", "\n", "\r", "\u{200B}", "\u{1}", "4111", "1111",
                         "-p", "mysql", "curl", "-u", "u:p", "://", "@", "Authorization:", "Bearer", "Cookie:", "x", "-", ";",
                         "(", ")", "[U+0009]", "[U+200B]", "＠", "４", "token", "--token", "IDENTIFIED", "BY", "ana@acme.example",
                         "\\", "AKIA", "IOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9", ".", "?api_key", "&", "\u{202E}", "\u{FEFF}", "123-45-6789",
                         "\u{00A0}", "－", "ｐａｓｓ", "=>", "Set-Cookie:", "sqlplus", "a/b", "PASSWORD(", "'x'", "\"", ",", "--user",
                         "e", "yJ", "-----BEGIN PRIVATE KEY-----", "\u{E0034}", "[U+0", "0000]", "pass:", "redis-cli", "-a", "x://", ":@", "Digest ", "username=\"", "IDENTIFIED WITH ", " AS ", "curl -u ", "-p ",
                         "--password ", "`", "$(", "|", "GB82 WEST 1234 5698 7654 32", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                         "\u{FF10}", "4111 1111 1111 1111", "jane@corp.example", "?token=", "#", "/", "5500-0000-0000-0004", "536-22-1234",
                         "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlMTIz", "\u{2028}", "\u{85}", "[U+000A]", "-----END PRIVATE KEY-----"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33)
        }
        for _ in 0..<20000 {
            var s = ""
            for _ in 0..<(1 + next() % 14) { s += fragments[next() % fragments.count] }
            inputs.append(s)
        }
        return inputs
    }

    @Test func theGateIsIdempotent() {
        var unstable: [String] = []
        for x in Self.gateInputs {
            let once = OutputGate.text(x)
            if OutputGate.text(once) != once { unstable.append(x) }
        }
        #expect(unstable.isEmpty, "\(unstable.prefix(10).map { ($0, OutputGate.text($0), OutputGate.text(OutputGate.text($0))) })")
    }

    @Test func theGateIsIdempotentOnTheSuitesCases() {
        let cases: [String] = [
            "psql postgres://admin:S3cret!@db.prod/app", "curl -u 'admin:pa ss' https://x", "mysql -p -p -p password password",
            "GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n", "card 4111\u{200B}1111 1111 1111\u{200B}",
            "token=\tabc next", "PGPASS\u{200B}WORD=x psql", "x\u{202E}\u{E0041}", "Cookie: a=b\tc", "--password\t'x y'",
        ]
        for x in cases {
            let once = OutputGate.text(x)
            #expect(OutputGate.text(once) == once, "\(x)")
        }
    }

    // MARK: Inputs built to be expensive

    /// Seconds a megabyte-sized input may take: about one in a debug build on the development
    /// machine, five with tests running in parallel beside it, more beside the 100,000-session
    /// generator test. A quadratic scan takes hours, so a loose bound still tells the two apart;
    /// the work counts are the exact check.
    static let generous = 20.0

    static func elapsed(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test(arguments: [
        "mysql -p -p -p ", "password password ", "mysql ", "a://a:", "PASSWORD ", "IDENTIFIED BY WITH ", "--password ",
        "password=(", "Authorization: ", "x=' ", "curl -u ", "token:", "\"password\"", "sqlplus ", "a://:@", "@",
    ])
    func credentialsScanInLinearTime(_ unit: String) {
        let bytes = Array(String(repeating: unit, count: 2_000_000 / unit.utf8.count).utf8)
        var work = 0
        let seconds = Self.elapsed { work = Credentials.scan(bytes).work }
        // Every byte is read a small, fixed number of times, whatever the input.
        #expect(work <= 8 * bytes.count, "\(unit): \(work) reads for \(bytes.count) bytes")
        #expect(seconds < Self.generous, "\(unit): \(seconds) s")
    }

    @Test func pathologicalCommandsFinishQuickly() {
        let mixed = String(repeating: "mysql -p -p -p ", count: 70_000) + String(repeating: "password password ", count: 60_000)
        #expect(Self.elapsed { _ = OutputGate.text(mixed) } < Self.generous)
        let mysql = String(repeating: "mysql ", count: 200_000)
        #expect(Self.elapsed { _ = OutputGate.excerpt(mysql) } < Self.generous)
    }

    @Test(arguments: ["eyJ-", "eyJhbGciOi.", "-----BEGIN RSA PRIVATE KEY-----\n", "4111 ", "4111\u{200B}", "a@", "@a.", "xoxb-",
                      "GB82 ", "AKIA", "１２３-", "\u{200B}"])
    func sensitiveDataScanInLinearTime(_ unit: String) {
        let bytes = Array(String(repeating: unit, count: 1_000_000 / unit.utf8.count).utf8)
        let seconds = Self.elapsed { _ = SensitiveData.scan(bytes) }
        #expect(seconds < Self.generous, "\(unit): \(seconds) s")
    }

    // MARK: Values split across recorded output events

    func sensitiveOutput(_ chunks: [(Double, String)], kinds: Set<SensitiveData.Kind> = Set(SensitiveData.Kind.allCases)) -> [ItemResult] {
        var session = makeSession("split", tags: ["env": "prod", "pci": "true"])
        let start = date("2026-07-01T10:00:00Z")
        session.transcript.output = chunks.map { OutputChunk(at: start.addingTimeInterval($0.0), stream: UInt8(ascii: "o"), bytes: Array($0.1.utf8)) }
        let test = SensitiveOutputTest(tags: ["pci"], kinds: kinds)
        return test.evaluate(session, AnalysisContext(period: q3, directory: StoreDirectory()))
    }

    @Test func findsACardSplitAcrossOutputEvents() throws {
        let results = sensitiveOutput([(1, " holder | card\n Ana | 4111 1111 "), (2, "1111 1111\n(1 row)\n")])
        let e = try #require(results.first?.exceptions.first)
        #expect(e.reasonCode == "sensitive-data-in-output")
        #expect(e.evidence == "card-number ×1: 4111 **** **** 1111")
        // Dated by the event where the value starts.
        #expect(e.time == date("2026-07-01T10:00:01Z"))
    }

    @Test func findsValuesSplitOverManyEvents() throws {
        let results = sensitiveOutput([(1, "4111"), (2, " 1111"), (3, " 1111 "), (4, "1111 and ana.lima@cust"), (5, "omer.example\n")])
        let e = try #require(results.first?.exceptions.first)
        #expect(e.evidence == "card-number ×1: 4111 **** **** 1111; email ×1: a***@customer.example")
        #expect(e.time == date("2026-07-01T10:00:01Z"))
    }

    @Test func countsAValueOnceAcrossEvents() throws {
        let results = sensitiveOutput([(1, "card 4111 1111 1111 1111"), (2, " 12 more\n"), (3, "then 5500-0000-0000-0004\n")])
        let e = try #require(results.first?.exceptions.first)
        #expect(e.evidence == "card-number ×2: 4111 **** **** 1111, 5500 **** **** 0004")
        #expect(e.time == date("2026-07-01T10:00:01Z"))
    }

    @Test func findsASplitValueAfterALongEvent() throws {
        let results = sensitiveOutput([(1, String(repeating: "row | ok\n", count: 500) + "ssn 536-2"), (2, "2-1234\n")])
        let e = try #require(results.first?.exceptions.first)
        #expect(e.evidence == "us-ssn ×1: ***-**-1234")
    }

    @Test func splitLookAlikesPass() {
        // Fails Luhn once joined; glued to a word once joined, as the terminal shows it.
        for chunks in [[(1.0, "ref 4111 1111 "), (2.0, "1111 1112\n")], [(1.0, "x4111 "), (2.0, "1111 1111 1111\n")],
                       [(1.0, String(repeating: "a", count: 300)), (2.0, "4111 1111 1111 1111")]] {
            let results = sensitiveOutput(chunks)
            #expect(results.map(\.exceptions.isEmpty) == [true], "\(chunks)")
        }
        // After a long event the carried tail is cut, but the byte before it still counts as context.
        let results = sensitiveOutput([(1.0, String(repeating: "a", count: 300) + "\n"), (2.0, "4111 1111 1111 1111")])
        #expect(results.first?.exceptions.first?.time == date("2026-07-01T10:00:02Z"))
    }
}
