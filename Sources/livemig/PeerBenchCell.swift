import KVMBackend
import MigrationCore

/// One cell of `livemig bench migrate --peer qemu`: what the guest does, the rate cap and the
/// downtime limit; both tools run it with auto-converge on (QEMU's capability, livemig's
/// `qemu` policy option), so a guest that needs throttling gets it from either. A post-copy
/// cell instead hands over after N live rounds, auto-converge off: QEMU with `postcopy-ram` on
/// both sides and `migrate-start-postcopy` once its dirty-sync count says round N is done,
/// livemig with `--postcopy-after N`.
struct PeerBenchCell: Codable, Sendable, Equatable {
    enum Load: String, Codable, Sendable, CaseIterable {
        /// Prints its heartbeat, writes nothing.
        case idle
        /// 20,000 page writes a second over 64 MiB.
        case writes20k
        /// As many writes as the vCPU manages over 256 MiB: needs throttling to converge on a cap.
        case throttled

        var label: String {
            switch self {
            case .idle: "idle"
            case .writes20k: "64 MiB at 20,000 pages/s"
            case .throttled: "256 MiB as fast as it writes"
            }
        }

        var firmware: BenchFirmware {
            switch self {
            case .idle: BenchFirmware(writes: .idle, workingSetPages: 1)
            case .writes20k: BenchFirmware(writes: .paced(pagesPerSecond: 20_000), workingSetPages: 16_384)
            case .throttled: BenchFirmware(writes: .asFastAsPossible, workingSetPages: 65_536)
            }
        }
    }

    var load: Load
    /// The rate cap (nil: none), bytes per second.
    var capBytesPerSecond: Double?
    var downtimeLimitSeconds: Double
    /// Post-copy after this many live rounds (nil: pre-copy with auto-converge).
    var postcopyAfterRounds: Int?
    /// Connections carrying the pages: QEMU's multifd channels, livemig's `--streams` (nil: one).
    var streams: Int?
    /// Page compression, both tools: "zstd" (QEMU's `multifd-compression`, which needs multifd;
    /// livemig's `--compress zstd`); nil: none.
    var compression: String?

    var label: String {
        let cap = capBytesPerSecond.map { String(format: "%.0f Mbit/s", $0 * 8 / 1e6) } ?? "no cap"
        if let rounds = postcopyAfterRounds { return "\(load.label), \(cap), post-copy after \(rounds) round\(rounds == 1 ? "" : "s")" }
        let transport = [streams.map { "\($0) streams" }, compression].compactMap { $0 }.joined(separator: ", ")
        return "\(load.label), \(cap), \(Int((downtimeLimitSeconds * 1000).rounded())) ms limit\(transport.isEmpty ? "" : ", " + transport)"
    }

    /// The issue's matrix: every load, with no cap and at 1 Gbit/s, with limits of 30 and 300 ms.
    static let all: [PeerBenchCell] = Load.allCases.flatMap { load in
        [nil, 125_000_000.0].flatMap { cap in
            [0.03, 0.3].map { PeerBenchCell(load: load, capBytesPerSecond: cap, downtimeLimitSeconds: $0) }
        }
    }

    /// Post-copy after one round (issue 12): the guest that cannot converge on 1 Gbit/s, and the
    /// one that writes 20,000 pages/s with no cap.
    static let postcopy: [PeerBenchCell] = [
        PeerBenchCell(load: .throttled, capBytesPerSecond: 125_000_000, downtimeLimitSeconds: 0.3, postcopyAfterRounds: 1),
        PeerBenchCell(load: .writes20k, capBytesPerSecond: nil, downtimeLimitSeconds: 0.3, postcopyAfterRounds: 1),
    ]

    /// Issue 12's transport features against QEMU's: 4 connections (multifd), and zstd on them
    /// (QEMU compresses only multifd channels); livemig also with zstd on its one connection.
    /// The guest's RAM holds one word a page (the boot fill), so it compresses far; with
    /// `--memory-mix` it holds the mix instead.
    static let transport: [PeerBenchCell] = [
        PeerBenchCell(load: .writes20k, capBytesPerSecond: nil, downtimeLimitSeconds: 0.3, streams: 4),
        PeerBenchCell(load: .writes20k, capBytesPerSecond: nil, downtimeLimitSeconds: 0.3, streams: 4, compression: "zstd"),
        PeerBenchCell(load: .writes20k, capBytesPerSecond: 125_000_000, downtimeLimitSeconds: 0.3, streams: 4, compression: "zstd"),
    ]

    /// The four cells first measured (issue 11's table).
    static let quick: [PeerBenchCell] = [
        PeerBenchCell(load: .idle, capBytesPerSecond: nil, downtimeLimitSeconds: 0.03),
        PeerBenchCell(load: .writes20k, capBytesPerSecond: nil, downtimeLimitSeconds: 0.03),
        PeerBenchCell(load: .writes20k, capBytesPerSecond: 125_000_000, downtimeLimitSeconds: 0.3),
        PeerBenchCell(load: .throttled, capBytesPerSecond: 125_000_000, downtimeLimitSeconds: 0.3),
    ]
}

/// One migration of a cell by one tool, measured.
struct PeerBenchRun: Codable, Sendable {
    var tool: String
    var cell: String
    var run: Int
    var totalSeconds: Double
    /// The tool's own downtime figure: QEMU's `query-migrate` downtime (stop to the end of the
    /// stream on the source), livemig's report (pause to the guest running on the destination).
    var downtimeSeconds: Double
    /// The gap the guest shows: from its last heartbeat line on the source to its first on the
    /// destination, by this host's clock as the lines arrived.
    var guestGapSeconds: Double?
    var converged: Bool
    var outcome: String
    var maxThrottlePercent: Int
    var bytesSent: Int
    var rounds: Int
    /// livemig: where its pause went, by the source's clock.
    var pausePhases: PausePhases?
}
