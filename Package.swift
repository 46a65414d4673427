// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "access-evidence",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "access-evidence", targets: ["access-evidence"]),
        .library(name: "AccessEvidence", targets: ["AccessEvidence"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CXLSXWriter",
            pkgConfig: "xlsxwriter",
            providers: [.apt(["libxlsxwriter-dev"])]
        ),
        // zlib, for `--compress` (gzip population files); libxlsxwriter links it too.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "AccessEvidence",
            dependencies: [
                "CSQLite",
                "CXLSXWriter",
                "CZlib",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            plugins: ["EmbedDefaults"]
        ),
        // hoop's production store. Its own target so the SQLite pipeline builds without SwiftNIO.
        .target(
            name: "AccessEvidencePostgres",
            dependencies: [
                "AccessEvidence",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // hoop's HTTP API (hoop Cloud): its own target, like PostgreSQL, so the SQLite pipeline builds
        // without an HTTP client.
        .target(
            name: "AccessEvidenceHoopAPI",
            dependencies: [
                "AccessEvidence",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Test support: libxml2's HTML parser behind a plain C function, so its headers (which pull
        // in ICU) never meet Foundation's in a Swift module.
        .target(
            name: "CHTMLValidator",
            cSettings: [.unsafeFlags(["-I/usr/include/libxml2"])],
            linkerSettings: [.linkedLibrary("xml2")]
        ),
        .executableTarget(
            name: "access-evidence",
            dependencies: [
                "AccessEvidence",
                "AccessEvidencePostgres",
                "AccessEvidenceHoopAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // jemalloc in place of glibc's malloc, for the tool only (the tests keep glibc's): a report
            // allocates and frees millions of short strings and arrays on three threads at once, and
            // glibc's per-thread arenas spent about a tenth of the run's CPU time on it.
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))],
            plugins: ["EmbedBuildCommit"]
        ),
        // Build-time tool of the two plugins below: writes the shipped Controls/ and Templates/, and
        // the git commit, as Swift source, so the binary runs without its source tree.
        .executableTarget(name: "embed-defaults"),
        .plugin(name: "EmbedDefaults", capability: .buildTool(), dependencies: ["embed-defaults"]),
        .plugin(name: "EmbedBuildCommit", capability: .buildTool(), dependencies: ["embed-defaults"]),
        .testTarget(
            name: "AccessEvidenceTests",
            dependencies: ["AccessEvidence", "AccessEvidencePostgres", "AccessEvidenceHoopAPI", "CHTMLValidator"],
            // Third-party input the tests read from the source tree (with its source and licence beside it).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
