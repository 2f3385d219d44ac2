// swift-tools-version:6.0
// NaviosWS: a WebSocket gateway framework for Swift services, with a C core.
import CompilerPluginSupport
import PackageDescription

let package = Package(
    name: "NaviosWS",
    // Linux only: the core is io_uring and epoll. (No platforms entry: it names Apple
    // systems only, and none of them can build the core.)
    products: [
        .library(name: "NaviosDI", targets: ["NaviosDI"]),
        .library(name: "NaviosWS", targets: ["NaviosWS"]),
        // Scale-out through Redis; the NaviosWS product has no Redis dependency.
        .library(name: "NaviosWSRedis", targets: ["NaviosWSRedis"]),
        .executable(name: "navios-ws-echo", targets: ["navios-ws-echo"]),
        .executable(name: "chat-example", targets: ["chat-example"]),
        .executable(name: "navios-ws-gateway-echo", targets: ["navios-ws-gateway-echo"]),
        .executable(name: "navios-ws-cluster-node", targets: ["navios-ws-cluster-node"]),
        .executable(name: "navios-ws-socketio-server", targets: ["navios-ws-socketio-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // The macros' compiler plugin (603 is the release that matches Swift 6.3).
        .package(url: "https://github.com/swiftlang/swift-syntax.git", from: "603.0.1"),
    ],
    targets: [
        // System libraries the C core links, found with pkg-config.
        .systemLibrary(
            name: "CLibURing", path: "CSources/CLibURing", pkgConfig: "liburing",
            providers: [.apt(["liburing-dev"])]),
        .systemLibrary(
            name: "COpenSSL", path: "CSources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "CSources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CHiredis", path: "CSources/CHiredis", pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]),
        // The C core, transport only: handshake, frames, masking, UTF-8, event loops,
        // connections, send queues, rooms.
        .target(
            name: "CNaviosWS",
            dependencies: ["CLibURing", "COpenSSL", "CZlib"],
            path: "CSources/CNaviosWS"),
        // The engine: the C core driven from Swift. The only Swift target that imports CNaviosWS.
        .target(
            name: "NaviosWSCore",
            dependencies: [
                "CNaviosWS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // JSON: one span reader, one buffer writer, one escape routine, the WsJSONCodable codecs
        // and the Codable adapters; its C helper scans objects for given members with SIMD.
        .target(name: "CNaviosJSON", path: "CSources/CNaviosJSON"),
        .target(name: "NaviosJSON", dependencies: ["CNaviosJSON"]),
        // Dependency injection: tokens, inject(), scopes, modules (the @navios/di equivalent).
        .target(name: "NaviosDI"),
        // The macros (@WebSocketGateway, @OnMessage, @Injectable, @Module...), declared in NaviosWS.
        .macro(
            name: "NaviosWSMacros",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftSyntaxBuilder", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftDiagnostics", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ]),
        // The gateway runtime, its wire protocols behind one seam, rooms, guards, typed events,
        // the cluster protocol.
        .target(
            name: "NaviosWS",
            dependencies: [
                "NaviosWSCore",
                "NaviosJSON",
                "NaviosDI",
                "NaviosWSMacros",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        // The Redis link (hiredis for RESP, its own thread and sockets) and the adapter on it.
        .target(
            name: "CNaviosRedis",
            dependencies: ["CHiredis", "COpenSSL"],
            path: "CSources/CNaviosRedis"),
        .target(
            name: "NaviosWSRedis",
            dependencies: [
                "NaviosWS", "CNaviosRedis",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "navios-ws-echo",
            dependencies: [
                "NaviosWS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        // A gateway whose typed handler returns its payload: the gateway path under load.
        .executableTarget(
            name: "navios-ws-gateway-echo",
            dependencies: [
                "NaviosWS", "NaviosDI", "NaviosWSRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // One instance of a cluster, for the Redis adapter's end-to-end tests.
        .executableTarget(
            name: "navios-ws-cluster-node",
            dependencies: [
                "NaviosWS", "NaviosDI", "NaviosWSRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The Socket.IO test server (the conformance kit's server contract), for the protocol
        // suites and the interop tests.
        .executableTarget(
            name: "navios-ws-socketio-server",
            dependencies: [
                "NaviosWS", "NaviosDI", "NaviosWSRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The spec's ChatGateway as a runnable server with a browser page (make run).
        .executableTarget(
            name: "chat-example",
            dependencies: [
                "NaviosWS", "NaviosDI", "NaviosWSRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "NaviosWSTests",
            dependencies: [
                "NaviosWS", "NaviosWSCore", "NaviosJSON", "NaviosDI",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(name: "NaviosDITests", dependencies: ["NaviosDI"]),
        // Expansion tests; the generic test support reports through swift-testing.
        .testTarget(
            name: "NaviosWSMacrosTests",
            dependencies: [
                "NaviosWSMacros",
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
            ]),
    ]
)

// libFuzzer targets for the Swift parsers (Tests/Fuzz/Swift), declared only for
// `make fuzz-swift-build` (NAVIOS_FUZZ=1), which passes every flag: every module is built with
// ASan and coverage, and libFuzzer comes without its main (this binary runs its driver).
if Context.environment["NAVIOS_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "navios-ws-fuzz",
        dependencies: ["NaviosWS", "NaviosJSON"],
        path: "Tests/Fuzz/Swift"))
}
