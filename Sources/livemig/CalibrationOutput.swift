import Foundation
import MigrationCalibration
import MigrationReporting

/// `calibrate`'s table: the fitted model in one paragraph, then the model's dirty counts
/// against the observed ones for every interval length.
enum CalibrationTable {
    static func render(_ fit: WriteModelFit, name: String) -> String {
        let model = fit.model
        var lines = ["\(name): \(fit.reads) reads over \(String(format: "%.2f", fit.observedSeconds)) s, \(fit.distinctPages) distinct pages dirty"]
        var description = "fitted  \(model.kind.rawValue)"
        if model.kind != .idle {
            switch model.placement {
            case .contiguous(let first): description += ", one block from page \(first)"
            case .scattered: description += ", scattered over memory"
            }
            description += ", working set \(model.workingSetPages) pages"
        }
        let spread = model.rateSpreadPagesPerSecond > 0 ? String(format: " ± %.0f", model.rateSpreadPagesPerSecond) : ""
        switch model.kind {
        case .idle: break
        case .uniform, .sequential: description += String(format: ", %.0f", model.ratePagesPerSecond) + spread + " page writes/s"
        case .hotCold:
            description += ", hot set \(model.hotPages) pages at " + String(format: "%.0f", model.ratePagesPerSecond) + spread
                + String(format: " writes/s, the rest at %.0f writes/s", model.coldRatePagesPerSecond)
        }
        lines.append(description)
        lines.append(String(format: "fit     dirty pages per interval, observed against the model (worst %.1f %%):", fit.worstRelativeError * 100))
        let rows = [["interval", "observed", "model", "error"]] + fit.checks.map { check in
            [String(format: "%.0f ms", check.seconds * 1000), String(format: "%.0f", check.observedDirtyPages),
             String(format: "%.0f", check.predictedDirtyPages), String(format: "%+.1f %%", check.relativeError * 100)]
        }
        return lines.joined(separator: "\n") + "\n" + TextColumns.render(rows, rightAligned: [0, 1, 2, 3])
    }
}

/// `calibrate --format json`.
enum CalibrationJSON {
    private struct Output: Encodable {
        struct Check: Encodable {
            var seconds: Double
            var observedDirtyPages: Double
            var predictedDirtyPages: Double
            var relativeError: Double
        }
        var kind: String
        var placement: String
        var firstPage: Int?
        var workingSetPages: Int
        var hotPages: Int
        var ratePagesPerSecond: Double
        var coldRatePagesPerSecond: Double
        var rateSpreadPagesPerSecond: Double
        var reads: Int
        var observedSeconds: Double
        var distinctPages: Int
        var worstRelativeError: Double
        var checks: [Check]
        var scenarioFile: String?
    }

    static func render(_ fit: WriteModelFit, scenarioFile: String?) -> String {
        let model = fit.model
        var firstPage: Int?
        if case .contiguous(let first) = model.placement { firstPage = first }
        let output = Output(
            kind: model.kind.rawValue, placement: firstPage == nil ? "scattered" : "contiguous", firstPage: firstPage,
            workingSetPages: model.workingSetPages, hotPages: model.hotPages, ratePagesPerSecond: model.ratePagesPerSecond,
            coldRatePagesPerSecond: model.coldRatePagesPerSecond, rateSpreadPagesPerSecond: model.rateSpreadPagesPerSecond,
            reads: fit.reads, observedSeconds: fit.observedSeconds, distinctPages: fit.distinctPages,
            worstRelativeError: fit.worstRelativeError,
            checks: fit.checks.map { .init(seconds: $0.seconds, observedDirtyPages: $0.observedDirtyPages,
                                           predictedDirtyPages: $0.predictedDirtyPages, relativeError: $0.relativeError) },
            scenarioFile: scenarioFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: encoder.encode(output), as: UTF8.self)) ?? "{}"
    }
}
