import MigrationCore

extension CalibratedScenario {
    /// The `link:` section and the rate and latency it gives the simulator, each value saying
    /// where it came from. The rate: `--bandwidth` when given (a cap); else past migrations'
    /// rate (`--from-history`: real migrations, with the guest's memory and the engine's work in
    /// them); else the throughput probe's (`--destination`); else a default. The cap's
    /// efficiency: history's, else the probe's when it was paced at the cap. The latency: half
    /// the probe's round trip, else the default.
    func linkLines() -> (lines: [String], bytesPerSecond: Double, latencySeconds: Double) {
        var lines = ["link:"]
        // An efficiency scales every rate in the scenario: a measured (achieved) rate is written
        // as the nominal one the efficiency scales back down to it, not discounted twice.
        let efficiency = linkEfficiency
        var bytesPerSecond = 1.25e9
        if let bandwidth = provenance.linkBandwidth {
            lines.append("  bandwidth: \(bandwidth.text)  # \(bandwidth.source)")
            bytesPerSecond = bandwidth.bytesPerSecond
        } else if let history, let rate = history.uncappedBytesPerSecond {
            let megabits = nominalMegabits(achieved: rate, efficiency: efficiency.value)
            // How much the path's rate moved from one migration to the next: a distribution,
            // so that the Monte Carlo's p95 holds the next migration's rate too.
            let spread = whole((history.uncappedSpreadBytesPerSecond ?? 0) / efficiency.value * 8 / 1e6)
            let varied = spread * 100 >= megabits
            let text = varied ? "normal(\(megabits)Mbit/s, \(spread)Mbit/s)" : "\(megabits)Mbit/s"
            lines.append("  bandwidth: \(text)  # from history: the median rate of \(history.uncappedRuns) uncapped migrations' live passes\(varied ? " and their spread" : "")\(efficiency.value < 1 ? ", over the efficiency below" : "")")
            bytesPerSecond = Double(megabits) * 1e6 / 8 * efficiency.value
        } else if let path = uncappedProbe, path.bytesPerSecond > 0 {
            let megabits = nominalMegabits(achieved: path.bytesPerSecond, efficiency: efficiency.value)
            lines.append("  bandwidth: \(megabits)Mbit/s  # measured: \(probeText(path))\(efficiency.value < 1 ? ", over the efficiency below" : "")")
            bytesPerSecond = Double(megabits) * 1e6 / 8 * efficiency.value
        } else if cappedProbe != nil {
            lines.append("  bandwidth: 10Gbit/s  # default: the probe ran at the cap, so the path's own rate is not known (the cap binds below it)")
        } else {
            lines.append("  bandwidth: 10Gbit/s  # default, not measured: set it to the path's rate (or probe it: --destination)")
        }
        if let comment = efficiency.comment {
            lines.append("  efficiency: \(format(efficiency.value, 3))  # \(comment)")
        }
        var latencySeconds = CalibratedScenario.defaultLatencySeconds
        if let roundTrip = (uncappedProbe ?? cappedProbe)?.roundTripSeconds, roundTrip.isFinite, roundTrip > 0 {
            latencySeconds = roundTrip / 2
            lines.append("  latency: \(format(latencySeconds * 1000, 4))ms  # measured: half the TCP round trip the kernel saw on the probe's connection")
        }
        return (lines, bytesPerSecond, latencySeconds)
    }

    /// The smallest `link.efficiency` a scenario may give (docs/scenario-format.md).
    static let minimumEfficiency = 0.01

    /// The share of a cap the link delivers and where that came from (nil comment: 1, not
    /// written).
    private var linkEfficiency: (value: Double, comment: String?) {
        if let history, let efficiency = history.capEfficiency {
            return (min(1, max(Self.minimumEfficiency, efficiency)), "from history: the median share of the cap \(history.cappedRuns) capped migrations achieved")
        }
        if let path = cappedProbe, let efficiency = path.capEfficiency, efficiency.isFinite, efficiency > 0 {
            // A probe a little over its cap (a clock's grain) delivers the cap, no more; one far
            // under it met a path slower than the cap, written within the key's bounds.
            let bounded = min(1, max(Self.minimumEfficiency, efficiency))
            let slower = efficiency < 0.5 ? " (the path is slower than the cap)" : ""
            return (bounded, "measured: the share of the cap \(probeText(path)) achieved\(slower)")
        }
        return (1, nil)
    }

    /// An achieved rate as the nominal one, in whole Mbit/s, that `efficiency` scales back down
    /// to it (so that it is not discounted twice).
    private func nominalMegabits(achieved bytesPerSecond: Double, efficiency: Double) -> Int {
        max(1, whole(bytesPerSecond / efficiency * 8 / 1e6))
    }

    /// The probes run at the path's own rate, and at a cap.
    private var uncappedProbe: MeasuredPath? { measuredPaths.first { $0.rateLimitBytesPerSecond == nil } }
    private var cappedProbe: MeasuredPath? { measuredPaths.first { $0.rateLimitBytesPerSecond != nil } }

    private func probeText(_ path: MeasuredPath) -> String {
        "a \(format(path.seconds, 1)) s throughput probe to \(path.destination) (\(format(Double(path.wireBytes) / 1_048_576, 0)) MiB)"
    }
}
