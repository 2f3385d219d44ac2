// swift-tools-version:6.0
// hummingbird-echo — the Hummingbird 2 peer of the echo benchmark (Benchmarks/run-suite.sh).
// A package of its own so that NaviosWS never depends on Hummingbird. It sits one folder
// below Benchmarks/peers/hummingbird because SwiftPM names a root package after its folder:
// a root called "hummingbird" would have the identity of the dependency it needs, and
// resolution fails ("Disabled default traits ... on package 'hummingbird' ... that declares
// no traits" — the root, which declares none).
import PackageDescription

let package = Package(
    name: "hummingbird-echo",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-echo",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ]
        )
    ]
)
