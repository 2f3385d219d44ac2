// swift-tools-version:6.0
// vapor-echo — the Vapor 4 peer of the side-by-side benchmarks (Benchmarks/run-suite.sh).
// A package of its own so that NaviosWS never depends on Vapor. It sits one folder below
// Benchmarks/peers/vapor for the reason the Hummingbird peer does: SwiftPM names a root
// package after its folder, and a root called "vapor" would take the identity of the
// dependency it needs.
import PackageDescription

let package = Package(
    name: "vapor-echo",
    platforms: [.macOS(.v13)],
    dependencies: [
        // Pinned: the suite compares against one known release.
        .package(url: "https://github.com/vapor/vapor", exact: "4.122.3"),
    ],
    targets: [
        .executableTarget(
            name: "vapor-echo",
            dependencies: [.product(name: "Vapor", package: "vapor")]
        )
    ]
)
