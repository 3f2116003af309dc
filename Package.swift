// swift-tools-version:6.0
// livemig: plans, predicts and performs live migration of virtual machines the way Xen does it.
import PackageDescription

let package = Package(
    name: "livemig",
    products: [
        .executable(name: "livemig", targets: ["livemig"]),
        .library(name: "MigrationCore", targets: ["MigrationCore"]),
        .library(name: "MigrationSimulation", targets: ["MigrationSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C shims: one per C library, each wrapper prefixed and commented with why it exists.
        .target(
            name: "CGSL",
            linkerSettings: [.linkedLibrary("gsl"), .linkedLibrary("gslcblas"), .linkedLibrary("m")]
        ),
        .target(
            name: "CXen",
            linkerSettings: [
                .linkedLibrary("xenctrl"), .linkedLibrary("xenguest"),
                .linkedLibrary("xenlight"), .linkedLibrary("xentoollog"),
            ]
        ),
        // Zstandard (libzstd-dev) for compressing page batches (`--compress zstd`).
        .target(name: "CZstd", linkerSettings: [.linkedLibrary("zstd")]),
        // The system's OpenSSL (libssl-dev) for the executor's mutual TLS (docs/tls.md says why not swift-nio-ssl).
        .target(name: "CTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        // The engine core: pure Swift, no I/O, no clock, no threads.
        .target(name: "MigrationCore"),
        .target(name: "MigrationStream"),
        // The dirty-page trace text format: written by `livemig observe`, replayed by the simulator.
        .target(name: "DirtyTraceFormat"),
        .target(name: "MigrationSimulation", dependencies: ["MigrationCore", "CGSL", "DirtyTraceFormat"]),
        .target(
            name: "MigrationScenario",
            dependencies: ["MigrationCore", "MigrationSimulation", "DirtyTraceFormat", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "MigrationReporting", dependencies: ["MigrationCore"]),
        // Calibration: fits a write model to an observed dirty-page trace (pure: no I/O).
        .target(name: "MigrationCalibration", dependencies: ["MigrationCore", "MigrationSimulation", "DirtyTraceFormat"]),
        // Sweeps: many simulations of one scenario with keys varied, on all cores.
        .target(name: "MigrationSweep", dependencies: ["MigrationCore", "MigrationSimulation", "MigrationReporting"]),
        .target(name: "XenProbe", dependencies: ["CXen"]),
        .target(name: "XenBackend", dependencies: ["CXen", "MigrationCore", "MigrationExecutor"]),
        .target(name: "CKVM"),
        // LIVEMIG_FAULT_INJECTION: the receiver's fault hooks (LIVEMIG_FAULT) exist in debug builds only.
        .target(name: "MigrationExecutor", dependencies: ["MigrationCore", "MigrationStream", "DirtyTraceFormat", "CTLS", "CZstd"],
                swiftSettings: [.define("LIVEMIG_FAULT_INJECTION", .when(configuration: .debug))]),
        .target(name: "KVMBackend", dependencies: ["CKVM", "MigrationCore", "MigrationExecutor", "MigrationStream"]),
        // The relocation server's configuration (xend-config.sxp), hosts-allow and limits.
        .target(name: "Relocation", dependencies: ["MigrationExecutor"]),
        .target(name: "GuestControl", dependencies: ["KVMBackend", "MigrationCore", "MigrationExecutor", "MigrationStream", "DirtyTraceFormat"]),
        .executableTarget(
            name: "livemig",
            dependencies: [
                "MigrationCore", "MigrationSimulation", "MigrationScenario", "MigrationReporting", "XenProbe",
                "GuestControl", "KVMBackend", "MigrationExecutor", "XenBackend", "MigrationStream", "Relocation", "MigrationSweep",
                "MigrationCalibration", "DirtyTraceFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets (scripts/fuzz builds them with libFuzzer; a plain build replays files).
        .target(name: "FuzzingSupport", path: "Sources/FuzzingSupport"),
        .executableTarget(name: "FuzzStreamDecoder", dependencies: ["FuzzingSupport", "MigrationStream"]),
        .executableTarget(name: "FuzzRelocationConfig", dependencies: ["FuzzingSupport", "Relocation"]),
        .executableTarget(name: "FuzzScenarioReader", dependencies: ["FuzzingSupport", "MigrationScenario"]),
        .testTarget(name: "MigrationCoreTests", dependencies: ["MigrationCore"]),
        .testTarget(name: "MigrationStreamTests", dependencies: ["MigrationStream"]),
        .testTarget(
            name: "MigrationSimulationTests",
            dependencies: ["MigrationCore", "MigrationSimulation", "MigrationScenario", "MigrationReporting", "CGSL", "DirtyTraceFormat"]
        ),
        .testTarget(name: "XenProbeTests", dependencies: ["XenProbe"]),
        .testTarget(name: "MigrationExecutorTests", dependencies: ["MigrationExecutor", "MigrationCore", "MigrationStream", "XenBackend", "CTLS"]),
        .testTarget(name: "KVMBackendTests", dependencies: ["KVMBackend", "MigrationCore", "MigrationExecutor", "MigrationStream", "DirtyTraceFormat"]),
        .testTarget(name: "LivemigCLITests", dependencies: ["MigrationExecutor", "MigrationStream"]),
        .testTarget(name: "MigrationCalibrationTests",
                    dependencies: ["MigrationCalibration", "MigrationSimulation", "MigrationScenario", "MigrationCore", "DirtyTraceFormat"]),
        .testTarget(name: "MigrationSweepTests", dependencies: ["MigrationSweep", "MigrationCore", "MigrationSimulation", "MigrationScenario"]),
        .testTarget(name: "RelocationTests", dependencies: ["Relocation", "MigrationExecutor"], exclude: ["Fixtures"]),
        .testTarget(name: "XenBackendTests", dependencies: ["XenBackend", "MigrationCore"]),
        // Runs in a two-host Xen lab (scripts/xen-lab); skipped, saying so, without one.
        .testTarget(name: "XenLabTests", dependencies: []),
    ]
)
