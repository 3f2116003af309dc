import KVMBackend
import MigrationCore
import MigrationExecutor

/// The allowed range of every number a guest's user hands over: `guest start`, `guest
/// console`, `migrate` and `observe` options, and the same fields of a `ControlRequest`, which
/// a daemon checks again (anyone who can open its control socket can send one). The command
/// line refuses a value out of range before it contacts a daemon; the daemon refuses it before
/// it acts. Documented in README ("Running and migrating real guests").
public enum OptionBounds {
    /// `--bandwidth`: below 1 Mbit/s a 4 MiB batch takes over 30 s and a 4 GiB guest about ten
    /// hours (and a cap near 0 would wait for ever: at 1e-20 bit/s the source's next send was
    /// 10^21 years away); 1 Tbit/s is beyond any link (leave the cap out for none).
    public static let bandwidth = InputBound("--bandwidth", .bytesPerSecond, from: "1Mbit/s", to: "1Tbit/s")
    /// `--downtime-limit` (given in milliseconds, held in seconds), `--timeout`,
    /// `--fallback-rounds`: the policy's own bounds (`PolicyBounds`), as scenario files have them.
    public static let downtimeLimit = PolicyBounds.downtimeLimit.named("--downtime-limit")
    public static let timeout = PolicyBounds.timeout.named("--timeout")
    public static let fallbackRounds = PolicyBounds.fallbackRounds.named("--fallback-rounds")
    /// `--dirty-limit`, in pages per second (QEMU's `vcpu-dirty-limit`).
    public static let dirtyLimit = PolicyBounds.dirtyLimit.named("--dirty-limit")
    /// `migrate --max-downtime` (milliseconds, held in seconds): from 1 ms (a real pause takes
    /// longer, so the source resumes at once) to an hour.
    public static let maxDowntime = InputBound("--max-downtime", .seconds, from: "1ms", to: "1h")
    /// `guest console --lines`: the daemon keeps the last 100,000 lines; one answer holds at
    /// most 10,000 (a control message is at most 1 MiB).
    public static let consoleLines = InputBound("--lines", .count, from: "1", to: "10000")
    /// `guest start --memory`: what `KVMGuest` maps (GuestMemory's 4 MiB to 4 GiB), in 2 MiB
    /// steps (the guest program's page tables map 2 MiB pages).
    public static let memory = InputBound("--memory", .bytes, from: "4MiB", to: "4GiB", multipleOf: "2MiB")
    /// `guest start --memory` with `--image`: below the 32-bit PCI hole (FirmwareLayout).
    public static let firmwareMemory = InputBound("--memory", .bytes, from: "4MiB", to: "3GiB", multipleOf: "2MiB")
    /// `observe --seconds` and `--interval` (DirtyLogObservation's limits; the interval is also
    /// at most the observation).
    public static let observeSeconds = InputBound("--seconds", .seconds, from: "10ms", to: "1h")
    public static let observeInterval = InputBound("--interval", .seconds, from: "10ms", to: "1h")
    /// `migrate --streams`: 1 (the main connection alone) to the stream format's 16 data streams
    /// (QEMU's multifd saturates 100 Gbit/s with 8 to 16 channels).
    public static let streams = InputBound("--streams", .count, from: "1", to: "16")
    /// `migrate --postcopy-after`: live rounds before the hand-over (the engine's
    /// `PostcopySwitch.maxLiveRounds`; libvirt's `--postcopy-after-precopy` is 1).
    public static let postcopyAfter = InputBound("--postcopy-after", .count, from: "1", to: "\(PostcopySwitch.maxLiveRounds)")

    /// Every bound, for the test that checks the table against the limits it cites.
    public static let all = [bandwidth, downtimeLimit, timeout, fallbackRounds, dirtyLimit, maxDowntime, consoleLines, memory, firmwareMemory,
                             observeSeconds, observeInterval, streams, postcopyAfter]
}

extension ControlRequest {
    /// `--compress` as the engine takes it: zstd always, the engine's choice per round, or none;
    /// XBZRLE deltas are the transport's (`sendsDeltas`), the engine compressing nothing.
    static let compressionNames: [String: PageCompression] = ["zstd": .always, "auto": .auto, "none": .off, "xbzrle": .off]

    /// Whether pages sent before go as XBZRLE deltas (`--compress xbzrle`).
    public var sendsDeltas: Bool { compression == "xbzrle" }

    /// The post-copy asked for (`--postcopy-after`, or a scenario's `migration.postcopy`).
    public var postcopySwitch: PostcopySwitch {
        if let postcopyAfter { return .afterLiveRounds(postcopyAfter) }
        return postcopyOnFallback == true ? .insteadOfFallback : .never
    }

    /// The compression asked for (`--compress`); none when not asked.
    public var pageCompression: PageCompression {
        compression.flatMap { Self.compressionNames[$0] } ?? .off
    }

    /// Checks every number the request carries against `OptionBounds`; the error names the
    /// option, the value and the allowed range. A daemon calls this before it acts on a request.
    public func validate() throws(HostFailure) {
        do throws(InputBoundError) {
            if let lines { try OptionBounds.consoleLines.check(lines) }
            if let streams { try OptionBounds.streams.check(streams) }
            if let postcopyAfter { try OptionBounds.postcopyAfter.check(postcopyAfter) }
            if postcopySwitch != .never {
                // Post-copy's page requests need one stream to a destination, and a live guest.
                if command == .save { throw InputBoundError("post-copy: save writes a file; nothing there asks for pages") }
                if let streams, streams > 1 { throw InputBoundError("post-copy with --streams \(streams): post-copy runs on one stream (--streams 1)") }
                if live == false { throw InputBoundError("post-copy needs a live migration (--live)") }
            }
            if let compression, !Self.compressionNames.keys.contains(compression) {
                throw InputBoundError("--compress \(compression): zstd, auto, xbzrle or none")
            }
            if sendsDeltas, let streams, streams > 1 {
                throw InputBoundError("--compress xbzrle with --streams \(streams): deltas need the one stream that knows what it sent before (--streams 1)")
            }
            if let rateLimitBytesPerSecond {
                try OptionBounds.bandwidth.check(rateLimitBytesPerSecond, written: "\(rateLimitBytesPerSecond) B/s")
            }
            if let downtimeLimitSeconds {
                try OptionBounds.downtimeLimit.check(downtimeLimitSeconds, written: "\(downtimeLimitSeconds * 1000) ms")
            }
            if let jobRateLimitBytesPerSecond {
                try OptionBounds.bandwidth.named("bandwidth").check(jobRateLimitBytesPerSecond, written: "\(jobRateLimitBytesPerSecond) B/s")
            }
            if let jobDowntimeLimitSeconds {
                try OptionBounds.downtimeLimit.named("downtimeLimit").check(jobDowntimeLimitSeconds, written: "\(jobDowntimeLimitSeconds * 1000) ms")
            }
            if let timeoutSeconds { try OptionBounds.timeout.check(timeoutSeconds, written: "\(timeoutSeconds) s") }
            if let maxDowntimeSeconds {
                try OptionBounds.maxDowntime.check(maxDowntimeSeconds, written: "\(maxDowntimeSeconds * 1000) ms")
            }
            if let fallbackRounds { try OptionBounds.fallbackRounds.check(fallbackRounds) }
            if let dirtyLimitPagesPerSecond {
                try OptionBounds.dirtyLimit.check(dirtyLimitPagesPerSecond, written: "\(dirtyLimitPagesPerSecond) pages/s")
            }
            if let problem = policyConfiguration.throttleChoiceProblem { throw InputBoundError("--dirty-limit: \(problem)") }
            try policySettings?.validate()
            if let expectedDirtying {
                guard expectedDirtying.count <= 64 else { throw InputBoundError("expectedDirtying: \(expectedDirtying.count) classes, at most 64") }
                for dirtyClass in expectedDirtying {
                    guard dirtyClass.pages >= 0, dirtyClass.pages <= 0x1p32, dirtyClass.writesPerSecond >= 0, dirtyClass.writesPerSecond <= 1e9 else {
                        throw InputBoundError("expectedDirtying: \(dirtyClass.pages) pages at \(dirtyClass.writesPerSecond) writes/s; pages from 0 to 2^32, writes from 0 to 10^9 a second")
                    }
                }
            }
            if let seconds { try OptionBounds.observeSeconds.check(seconds, written: "\(seconds) s") }
            if let intervalSeconds {
                try OptionBounds.observeInterval.check(intervalSeconds, written: "\(intervalSeconds) s")
                if let seconds, intervalSeconds > seconds {
                    throw InputBoundError("--interval \(intervalSeconds) s: longer than the observation's --seconds \(seconds) s")
                }
            }
        } catch {
            throw HostFailure(error.description)
        }
    }
}
