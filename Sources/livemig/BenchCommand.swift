import ArgumentParser
import Foundation
import MigrationCore
import MigrationSimulation

/// `livemig bench`: speed and memory figures, printed with ratios against a baseline measured
/// in the same process (machines here are shared and noisy; ratios travel better than times).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: `livemig bench simulate`, `livemig bench migrate`.",
        subcommands: [BenchSimulateCommand.self, BenchMigrateCommand.self])
}

/// Peak resident memory of this process so far (`getrusage`), for the benchmarks.
func peakResidentMiB() -> Int {
    // VmHWM, unlike getrusage's maximum, can be reset (resetPeakResident).
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
        return kib / 1024
    }
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss / 1024
}

/// Starts a new peak for `peakResidentMiB` (writing 5 to /proc/self/clear_refs resets VmHWM),
/// so that a run's peak does not include memory an earlier step touched and freed.
func resetPeakResident() {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return }
    _ = write(fd, "5", 1)
    close(fd)
}

struct BenchSimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Fluid scenarios per second; page-level guest pages per second on 1, 16 and 64 GiB guests.")

    @Option(help: "Guest sizes in GiB for the page-level runs.")
    var sizesGiB: [Int] = [1, 16, 64]

    @Option(help: "Seconds to spend on the fluid measurement.")
    var fluidSeconds: Double = 1

    /// Page-level runs hold two bitmaps of the guest's pages (8 MiB each at 256 GiB).
    static let sizeBound = InputBound("--sizes-gi-b", .count, from: "1", to: "256")
    static let fluidSecondsBound = InputBound("--fluid-seconds", .seconds, from: "10ms", to: "1h")

    func run() throws {
        do {
            for gib in sizesGiB { try Self.sizeBound.check(gib) }
            try Self.fluidSecondsBound.check(fluidSeconds, written: "\(fluidSeconds)")
        } catch {
            throw failure(error.description)
        }
        print("fluid model")
        let fluid = benchFluid()
        print("  \(fluid.count) scenarios in \(format(fluid.seconds, 3)) s: \(format(fluid.seconds / Double(fluid.count) * 1e6, 2)) µs per scenario, \(Int(Double(fluid.count) / fluid.seconds)) scenarios/s (goal: < 20 µs)")
        print("page-level model (uniform writes, 50,000 pages/s over 1/4 of memory, 10 Gbit/s, xen3 with skip rule)")
        for gib in sizesGiB {
            let config = pageConfig(gib: gib)
            let baseline = baselineBitmapPasses(pages: config.guestPages)
            let start = Date()
            let result = try Simulator.run(config)
            let seconds = Date().timeIntervalSince(start)
            let report = result.report
            let pagesPerSecond = Double(report.pagesSent) / seconds
            print("  \(gib) GiB: \(format(seconds, 3)) s wall for \(format(report.totalTimeSeconds, 1)) s simulated, \(report.iterations.count) rounds, \(report.pagesSent) pages sent: \(format(pagesPerSecond / 1e6, 1)) M guest pages/s; \(format(seconds / (baseline * Double(report.iterations.count)), 1)) x the time of \(report.iterations.count) plain bitmap passes (\(format(baseline * 1e6, 0)) µs each); peak RSS so far \(peakResidentMiB()) MiB")
        }
        print("goal: a 64 GiB page-level migration under 1 s with peak memory under 256 MiB")
    }

    private func benchFluid() -> (count: Int, seconds: Double) {
        let config = SimulationConfig(
            guestMemoryBytes: 4 << 30,
            workload: .hotCold(workingSetPages: 262_144, hotPages: 2048, hotRatePagesPerSecond: 5000, coldRatePagesPerSecond: 100),
            link: LinkModel(bytesPerSecond: 1.25e9, latencySeconds: 0.0001),
            policy: PolicyConfiguration(name: .xen4), fidelity: .fluid, seed: 1)
        var count = 0
        let start = Date()
        var elapsed = 0.0
        while elapsed < fluidSeconds {
            for _ in 0 ..< 100 { _ = try? Simulator.run(config) }
            count += 100
            elapsed = Date().timeIntervalSince(start)
        }
        return (count, elapsed)
    }

    private func pageConfig(gib: Int) -> SimulationConfig {
        let pages = gib << 18
        return SimulationConfig(
            guestMemoryBytes: gib << 30,
            workload: .uniform(workingSetPages: pages / 4, ratePagesPerSecond: 50_000),
            link: LinkModel(bytesPerSecond: 1.25e9, latencySeconds: 0.0001),
            policy: PolicyConfiguration(name: .xen3), fidelity: .page, seed: 1)
    }

    /// The baseline: one OR-and-popcount pass over a bitmap of the guest's size, the least any
    /// page-level round must do; timed here so that the ratio says how close the simulator gets.
    private func baselineBitmapPasses(pages: Int) -> Double {
        var target = DirtyBitmap(pageCount: pages)
        let source = DirtyBitmap.full(pageCount: pages)
        let start = Date()
        var total = 0
        for _ in 0 ..< 8 { total &+= target.formUnion(source) }
        let seconds = Date().timeIntervalSince(start) / 8
        precondition(total == 8 * pages)
        return seconds
    }


    private func format(_ value: Double, _ places: Int) -> String { String(format: "%.\(places)f", value) }
}
