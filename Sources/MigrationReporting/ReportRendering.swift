import Foundation
import MigrationCore

/// The output formats of a migration report, shared by `livemig simulate` and the executors.
public enum ReportFormat: String, CaseIterable, Sendable {
    case table, json, csv
}

/// Renders `MigrationReport`s as a table for people, JSON for programs, CSV for spreadsheets.
public enum ReportRendering {
    public static func render(_ report: MigrationReport, as format: ReportFormat, title: String? = nil) -> String {
        switch format {
        case .table: table(report, title: title)
        case .json: json(report)
        case .csv: csv(report)
        }
    }

    /// One JSON object: the report's fields, keys sorted, so that files diff well.
    public static func json(_ report: MigrationReport) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(report), let text = String(data: data, encoding: .utf8) else {
            preconditionFailure("a MigrationReport always encodes")
        }
        return text + "\n"
    }

    /// One row per iteration, with a header row.
    public static func csv(_ report: MigrationReport) -> String {
        var lines = ["index,paused,pagesSent,pagesSkipped,pagesDirtied,startSeconds,durationSeconds"]
        for iteration in report.iterations {
            lines.append([
                String(iteration.index), String(iteration.paused), String(iteration.pagesSent),
                String(iteration.pagesSkipped), String(iteration.pagesDirtied),
                decimal(iteration.startSeconds, 6), decimal(iteration.durationSeconds, 6),
            ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An iteration's mode in the table: live, paused, or post-copy's.
    static func mode(of iteration: IterationReport) -> String {
        iteration.postcopy == true ? "postcopy" : iteration.paused ? "paused" : "live"
    }

    /// Post-copy's lines of the summary.
    static func postcopyLines(_ postcopy: PostcopyReport) -> String {
        var out = "post-copy   from \(decimal(postcopy.startSeconds, 3)) s for \(decimal(postcopy.durationSeconds, 3)) s: "
            + "\(postcopy.pagesMissingAtStart) pages missing at the hand-over, \(postcopy.pagesRequested) sent on request "
            + "(\(postcopy.requests) requests)\n"
        if let faults = postcopy.faults {
            out += "  faults    \(faults)"
            if let mean = postcopy.faultLatencyMeanSeconds, let worst = postcopy.faultLatencyMaxSeconds {
                out += ", waiting \(decimal(mean * 1000, 2)) ms on average, \(decimal(worst * 1000, 2)) ms at worst"
            }
            if let stall = postcopy.guestStallShare { out += "; the guest stalled \(decimal(stall * 100, 1)) % of the time" }
            out += "\n"
        }
        return out
    }

    /// A table of iterations and a summary.
    public static func table(_ report: MigrationReport, title: String?) -> String {
        var out = ""
        if let title { out += title + "\n" }
        let header = ["iter", "mode", "sent", "skipped", "dirtied", "start s", "duration s"]
        var rows = [header]
        for iteration in report.iterations {
            rows.append([
                String(iteration.index), mode(of: iteration), String(iteration.pagesSent),
                String(iteration.pagesSkipped), String(iteration.pagesDirtied),
                decimal(iteration.startSeconds, 3), decimal(iteration.durationSeconds, 3),
            ])
        }
        out += TextColumns.render(rows, rightAligned: Set(header.indices).subtracting([1]))
        out += "\n"
        out += "outcome     \(report.outcome.rawValue)\(report.reason.isEmpty ? "" : ": \(report.reason)")\n"
        out += "policy      \(report.policy)\(report.live ? "" : " (offline migration)")\n"
        out += "total time  \(decimal(report.totalTimeSeconds, 3)) s\n"
        out += "downtime    \(decimal(report.downtimeSeconds * 1000, 1)) ms\n"
        if let phases = report.pausePhases {
            let parts = phases.named.map { "\($0.name) \(decimal($0.seconds * 1000, 2))" }
            out += "  of which  \(parts.joined(separator: ", ")) ms (the source's clock)\n"
            if let destination = phases.destination, let transit = phases.transitSeconds {
                let parts = destination.named.map { "\($0.name) \(decimal($0.seconds * 1000, 2))" }
                out += "  there     \(parts.joined(separator: ", ")) ms (the destination's clock); the rest of the waits on it \(decimal(transit * 1000, 2)) ms (drain, round trips)\n"
            }
        }
        out += "data sent   \(byteSize(report.bytesSent)) (\(report.pagesSent) pages of \(report.guestPages), \(decimal(Double(report.pagesSent) / Double(max(report.guestPages, 1)), 2)) x memory)\n"
        let lastPass = report.postcopy == nil ? "1 paused" : "post-copy"
        out += "iterations  \(report.liveIterationCount) live + \(lastPass)\n"
        if let postcopy = report.postcopy { out += postcopyLines(postcopy) }
        if report.maxThrottlePercent > 0 { out += "throttle    up to \(report.maxThrottlePercent) %\n" }
        if let zero = report.zeroPagesSent, zero > 0 { out += "zero pages  \(zero) sent as 8-byte markers\n" }
        if let streams = report.dataStreams { out += "streams     \(streams) data streams beside the main connection\n" }
        if let deltas = report.deltaPagesSent {
            out += "deltas      \(deltas) pages sent as XBZRLE deltas against their copy sent before\n"
            if let ratio = report.compressionRatio { out += "compression \(decimal(ratio, 2)) x (XBZRLE, of the pages sent as deltas)\n" }
        } else if let ratio = report.compressionRatio {
            out += "compression \(decimal(ratio, 2)) x (zstd, of the batches that went compressed)\n"
        }
        if report.memoryVerified == true { out += "memory      verified: the destination's equals the source's at the pause\n" }
        if let seed = report.seed { out += "seed        \(seed) (\(report.fidelity ?? "page") fidelity)\n" }
        if let measured = report.measured {
            if let downtime = measured.downtimeBothClocksSeconds {
                out += "downtime by both clocks  \(decimal(downtime * 1000, 1)) ms (paused here, running there by its clock)\n"
            }
            if let gap = measured.guestVisibleGapSeconds {
                let lines = [measured.lastLineBeforePause, measured.firstLineAfterUnpause].map { $0.map { "'\($0)'" } ?? "?" }
                out += "guest-visible gap        \(decimal(gap * 1000, 1)) ms (console \(lines[0]) here to \(lines[1]) there)\n"
            }
            if let drain = measured.drainBeforePauseSeconds {
                out += "drain before the pause   \(decimal(drain * 1000, 1)) ms (the destination read what the sockets held; the guest still ran)\n"
            }
            if let writes = measured.guestWritesPerSecond {
                out += "guest writes             \(decimal(writes, 0)) pages/s while live (the guest program's own count)\n"
            }
        }
        return out
    }

    static func decimal(_ value: Double, _ places: Int) -> String {
        String(format: "%.\(places)f", value)
    }

    static func byteSize(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : "\(decimal(value, 2)) \(units[unit])"
    }
}
