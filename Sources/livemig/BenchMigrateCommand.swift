import ArgumentParser
import Foundation
import KVMBackend
import MigrationCore
import MigrationExecutor
import MigrationStream

/// `livemig bench migrate`: real migrations of a 1 GiB KVM guest over loopback, in this process
/// (source and receiver threads), with a plain socket pump of the same number of bytes measured
/// in the same run as the baseline.
struct BenchMigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Migrate a 1 GiB KVM guest over loopback: time, downtime, throughput vs a plain pump.")

    @Option(help: "Guest memory in MiB.") var memoryMiB: Int = 1024
    @Option(help: "Page writes per second of the busy run.") var rate: Int = 20_000
    @Flag(help: "Offline migrations (no dirty logging, one paused pass) instead of live ones.") var offline = false
    @Option(help: "Compare with another tool on the same firmware guest: qemu (Debian's qemu-system-x86), runs alternated.")
    var peer: String?
    @Option(help: "--peer: the cells, all (every load x no cap / 1 Gbit/s x 30 / 300 ms limit), quick (the four first measured), limit30 (the six with a 30 ms limit), postcopy (post-copy after one round: the guest that cannot converge on 1 Gbit/s, and 20,000 pages/s uncapped), transport (4 connections, then zstd on them: QEMU's multifd against livemig's --streams), or one load's four: idle, writes20k, throttled.")
    var cells: String = "all"
    @Option(help: "--peer: runs per cell and tool (1 to 100).") var runs: Int = 1
    @Flag(help: "--peer: run livemig's side only (many runs for the share within the downtime limit; no ratios against QEMU).")
    var livemigOnly = false
    @Option(help: "--peer: write every run and the per-cell ratios to this JSON file.") var output: String?
    @Flag(help: "livemig sends zero pages whole, not as zero-page markers (QEMU always detects them).") var noZeroPages = false
    @Option(help: "Data streams beside the main connection (1 to 16; 1: the main connection alone). With 2 or more each run is also made with one stream, and the baseline pump uses as many connections.")
    var streams: Int = 1
    @Option(help: "Compress each batch: zstd, auto (the engine's choice per round) or none (the default).") var compress: String = "none"
    @Option(help: "Fill the guest's memory before it runs with shares zero,text,random (such as 0.3,0.4,0.3: a realistic mix); by default a fresh guest's memory, all zero but what its program writes. With --peer, both tools' guests hold the same mix (QEMU's through -device loader) instead of the firmware's one word a page.")
    var memoryMix: String?

    static let memoryBound = InputBound("--memory-mi-b", .count, from: "4", to: "4096", multipleOf: "2")
    static let rateBound = InputBound("--rate", .count, from: "0", to: "\(GuestWorkload.maxRatePagesPerSecond)")
    static let runsBound = InputBound("--runs", .count, from: "1", to: "100")
    static let streamsBound = InputBound("--streams", .count, from: "1", to: "16")
    /// A firmware guest: at most 3 GiB, and room for the 256 MiB working set above 16 MiB.
    static let peerMemoryBound = InputBound("--memory-mi-b", .count, from: "512", to: "3072", multipleOf: "2")

    func run() throws {
        if let peer { return try runAgainstPeer(peer) }
        guard !livemigOnly else { throw failure("--livemig-only: only with --peer qemu (it skips QEMU's side of the comparison)") }
        do {
            try Self.memoryBound.check(memoryMiB)
            try Self.rateBound.check(rate)
            try Self.streamsBound.check(streams)
        } catch {
            throw failure(error.description)
        }
        let compression: PageCompression
        switch compress {
        case "zstd": compression = .always
        case "auto": compression = .auto
        case "none": compression = .off
        default: throw failure("--compress \(compress): zstd, auto or none")
        }
        let mix = try parsedMemoryMix()

        signal(SIGPIPE, SIG_IGN)
        let runs: [(String, GuestWorkload, Double?)] = [
            ("idle", .idle, nil),
            ("\(rate) pages/s", GuestWorkload(kind: .uniform, workingSetPages: 16_384, ratePagesPerSecond: rate), nil),
            ("idle, capped at 1 Gbit/s", .idle, 125_000_000),
        ]
        print("livemig bench migrate: \(memoryMiB) MiB guest over 127.0.0.1, \(offline ? "offline" : "live, xen4"), zero pages \(noZeroPages ? "sent whole" : "as markers")"
              + (streams > 1 ? ", \(streams) data streams (and each run again on one)" : "") + (compression == .off ? "" : ", compression \(compress)")
              + (mix.map { ", \($0)" } ?? ""))
        warmUp()
        for (label, workload, cap) in runs {
            var single: Double?
            if streams > 1 {
                // The same run on the main connection alone, in the same session: the baseline for the streams.
                let one = try migrateOnce(workload: workload, capBytesPerSecond: cap, streams: 1, mix: mix, compression: compression).report
                single = Double(one.pagesSent * 4096) / one.totalTimeSeconds
                print(String(format: "  %@, one stream: total %.3f s, %@ sent, guest pages at %.0f MB/s", label, one.totalTimeSeconds,
                             mib(one.bytesSent), single! / 1e6))
            }
            let result = try migrateOnce(workload: workload, capBytesPerSecond: cap, streams: streams, mix: mix, compression: compression)
            let report = result.report
            let throughput = Double(report.bytesSent) / report.totalTimeSeconds
            // Guest pages moved per second (zero markers and compressed data counted as the pages they carry).
            let pageRate = Double(report.pagesSent * 4096) / report.totalTimeSeconds
            var line = String(format: "  %@: total %.3f s, downtime %.1f ms, %@ sent (%d zero pages as markers%@), %.0f MB/s on the wire, guest pages at %.0f MB/s",
                              label, report.totalTimeSeconds, report.downtimeSeconds * 1000, mib(report.bytesSent),
                              report.zeroPagesSent ?? 0, report.compressionRatio.map { String(format: ", compressed %.2f x", $0) } ?? "",
                              throughput / 1e6, pageRate / 1e6)
            if let cap {
                let ideal = Double(report.bytesSent) / cap
                line += String(format: "; bytes / cap = %.3f s, total is %+.1f %% off", ideal, 100 * (report.totalTimeSeconds - ideal) / ideal)
            } else {
                let pump = try plainPump(bytes: report.bytesSent, connections: streams)
                line += String(format: " = %.0f %% of a plain pump of the same bytes on %d connection%@ (%.0f MB/s)", 100 * throughput / pump,
                               streams, streams == 1 ? "" : "s", pump / 1e6)
                if let single { line += String(format: "; pages %.2f x one stream's", pageRate / single) }
            }
            print(line)
            print(String(format: "    peak RSS %d MiB, of which beyond the two guests' %d MiB: %d MiB", result.peakRSSMiB,
                         2 * memoryMiB, max(0, result.peakRSSMiB - 2 * memoryMiB)))
        }
        print((streams > 1 ? "goal for the streams: >= 1.5 x one stream's throughput where the CPU allows (2 cores here: the guest's vCPU, the sender's threads and the receiver's share them); " : "")
              + "goals: throughput >= 90 % of the plain pump; idle downtime <= 5 ms; capped total within 3 % of bytes / cap; executor memory beyond the guest's < 64 MiB"
              + (noZeroPages ? "" : " (the throughput and cap goals are for --no-zero-pages: a fresh guest's zero pages go as markers, and the time goes to reading memory, not the link)"))
    }

    private func runAgainstPeer(_ peer: String) throws {
        guard peer == "qemu" else { throw failure("--peer \(peer): the only peer is qemu") }
        guard !offline else { throw failure("--peer: live migrations only (--offline is for the plain benchmark)") }
        let chosen: [PeerBenchCell]
        switch cells {
        case "all": chosen = PeerBenchCell.all
        case "quick": chosen = PeerBenchCell.quick
        case "postcopy": chosen = PeerBenchCell.postcopy
        case "transport": chosen = PeerBenchCell.transport
        case "limit30": chosen = PeerBenchCell.all.filter { $0.downtimeLimitSeconds == 0.03 }
        case let name where PeerBenchCell.Load(rawValue: name) != nil:
            chosen = PeerBenchCell.all.filter { $0.load.rawValue == name }
        default: throw failure("--cells \(cells): all, quick, limit30, postcopy, transport, or one load: \(PeerBenchCell.Load.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        do {
            try Self.peerMemoryBound.check(memoryMiB)
            try Self.runsBound.check(runs)
        } catch {
            throw failure(error.description)
        }
        let mix = try parsedMemoryMix()
        signal(SIGPIPE, SIG_IGN)
        try PeerBenchmark(cells: chosen, runs: runs, memoryMiB: memoryMiB, outputPath: output, withQemu: !livemigOnly,
                          zeroPages: !noZeroPages, mix: mix).run()
    }

    /// `--memory-mix`, parsed (nil without it).
    private func parsedMemoryMix() throws -> BenchMemoryMix? {
        do {
            return try memoryMix.map { text throws(HostFailure) in try BenchMemoryMix(parsing: text) }
        } catch {
            throw failure(error.description)
        }
    }

    private func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    private func migrateOnce(workload: GuestWorkload, capBytesPerSecond: Double?, streams: Int,
                             mix: BenchMemoryMix?, compression: PageCompression) throws -> (report: MigrationReport, peakRSSMiB: Int) {
        resetPeakResident()
        let guest = try KVMGuest.create(name: "bench", memoryBytes: memoryMiB << 20, workload: workload)
        defer { guest.destroy() }
        mix?.fill(guest.memory)
        guest.start()
        usleep(300_000)
        let receiver = try InProcessReceiver()
        var settings = EngineSettings()
        settings.rateLimitBytesPerSecond = capBytesPerSecond
        settings.live = !offline
        settings.compression = compression
        let parallel = streams > 1 ? ParallelStreamsRequest(count: streams) { port throws(HostFailure) in
            try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
        } : nil
        let result = try KVMMigration.migrate(guest, over: try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: receiver.port)),
                                              policy: PolicyConfiguration(name: .xen4), settings: settings, detectsZeroPages: !noZeroPages,
                                              parallelStreams: parallel)
        let arrived = try receiver.arrivedGuest(waitingUpTo: 120)
        let peak = peakResidentMiB()
        arrived?.destroy()
        return (result.report, peak)
    }

    /// The baseline: `bytes` through `connections` loopback TCP connections at once (a writer and
    /// a reader thread each), 4 MiB at a time from a region as large as the guest and already in
    /// memory (like the source guest's RAM), to readers that copy them into freshly mapped
    /// memory (like the destination guest's RAM, whose pages are allocated as they arrive: on
    /// this machine allocating 1 GiB alone takes 0.6-3 s, so a pump into memory allocated
    /// beforehand would measure another job). Each connection has its share of the bytes and of
    /// the region.
    private func plainPump(bytes: Int, connections: Int) throws -> Double {
        let size = memoryMiB << 20
        let slice = size / connections & ~4095
        let listener = try ListeningSocket(host: "127.0.0.1", port: 0)
        let done = DispatchSemaphore(value: 0)
        guard let target = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              target != MAP_FAILED else { throw HostFailure("mmap of the pump's target: \(String(cString: strerror(errno)))") }
        defer { munmap(target, size) }
        let targetAddress = Int(bitPattern: target)
        for index in 0 ..< connections {
            Thread {
                if let socket = try? listener.accept() {
                    // Each reader fills its own slice of the target.
                    let base = UnsafeMutableRawPointer(bitPattern: targetAddress)!
                    var buffer = [UInt8](repeating: 0, count: 1 << 20)
                    var offset = 0
                    let start = index * slice
                    while true {
                        let count = buffer.withUnsafeMutableBytes { (try? socket.read(into: $0)) ?? 0 }
                        if count == 0 { break }
                        let fits = min(count, slice - offset)
                        buffer.withUnsafeBytes { (base + start + offset).copyMemory(from: $0.baseAddress!, byteCount: fits) }
                        offset = (offset + fits) % slice
                    }
                }
                done.signal()
            }.start()
        }
        let region = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { region.deallocate() }
        region.initializeMemory(as: UInt8.self, repeating: 7, count: size)
        let regionAddress = Int(bitPattern: region)
        let sockets = try (0 ..< connections).map { _ in try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: listener.port)) }
        let start = monotonicSeconds()
        let share = bytes / connections
        for (index, socket) in sockets.enumerated() {
            Thread {
                let base = UnsafeRawPointer(bitPattern: regionAddress)! + index * slice
                var left = index == connections - 1 ? bytes - share * (connections - 1) : share
                var offset = 0
                while left > 0 {
                    let count = min(left, 4 << 20, slice - offset)
                    guard (try? socket.write(UnsafeRawBufferPointer(start: base + offset, count: count))) != nil else { break }
                    offset = (offset + count) % slice
                    left -= count
                }
                socket.close()
            }.start()
        }
        for _ in 0 ..< connections {
            guard done.wait(timeout: .now() + 300) == .success else { throw HostFailure("the plain pump did not end within 300 s") }
        }
        return Double(bytes) / (monotonicSeconds() - start)
    }

    /// Touches and frees memory for twice the two guests, once: the first use of memory on this
    /// (nested) machine is several times slower than later ones, and would otherwise land on
    /// whichever run comes first. Two guests' worth was not enough: the busy run and the pumps
    /// still met cold memory in about one run of three.
    private func warmUp() {
        let size = 4 * (memoryMiB << 20)
        guard let region = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              region != MAP_FAILED else { return }
        region.initializeMemory(as: UInt8.self, repeating: 1, count: size)
        munmap(region, size)
    }

}
