import Foundation
import MigrationCore
import MigrationSimulation

/// One guest's line in a schedule, in the evacuation's time (what JSON and the reports show).
public struct EvacuationGuestRow: Sendable, Codable, Equatable {
    public init(name: String, destination: String, startSeconds: Double, pausedAtSeconds: Double?, endSeconds: Double,
                downtimeSeconds: Double, outcome: String, iterations: Int, bytesSent: Int, memoryBytes: Int) {
        self.name = name
        self.destination = destination
        self.startSeconds = startSeconds
        self.pausedAtSeconds = pausedAtSeconds
        self.endSeconds = endSeconds
        self.downtimeSeconds = downtimeSeconds
        self.outcome = outcome
        self.iterations = iterations
        self.bytesSent = bytesSent
        self.memoryBytes = memoryBytes
    }

    public var name: String
    public var destination: String
    public var startSeconds: Double
    /// When its downtime began, if it was paused.
    public var pausedAtSeconds: Double?
    public var endSeconds: Double
    public var downtimeSeconds: Double
    public var outcome: String
    public var iterations: Int
    public var bytesSent: Int
    public var memoryBytes: Int
    /// A real run's report's reason (why it stopped or failed), if any.
    public var reason: String?
    /// A real run: the source guest was left paused, its outcome unknown (`sourceLeftPaused`).
    public var sourceLeftPaused: Bool?
    /// A real run whose migration ended without a report, or would not stop: where the guest
    /// is cannot be told here; nil otherwise.
    public var outcomeUnknown: Bool?

    /// Whether the guest now runs on its destination.
    public var moved: Bool { MigrationOutcome(rawValue: outcome).map { $0 != .aborted } ?? false }
}

/// One schedule's prediction: its settings, when it ends, and every guest's line.
public struct EvacuationScheduleSummary: Sendable, Codable, Equatable {
    public var name: String
    public var concurrency: Int
    /// Guest names in start order.
    public var order: [String]
    public var finishSeconds: Double
    public var guestsOverLimit: Int
    public var worstDowntimeSeconds: Double
    /// Guests in start order; guests that never started are missing.
    public var guests: [EvacuationGuestRow]
    /// Guests that never started, or never ended (the evacuation's time limit came first).
    public var notMoved: [String] = []

    /// A schedule as it was run for real: rows measured, the limit to judge them by.
    public init(name: String, concurrency: Int, order: [String], guests: [EvacuationGuestRow], downtimeLimitSeconds: Double) {
        self.name = name
        self.concurrency = concurrency
        self.order = order
        self.guests = guests
        finishSeconds = guests.map(\.endSeconds).max() ?? 0
        guestsOverLimit = order.count - guests.filter { $0.moved && $0.downtimeSeconds <= downtimeLimitSeconds }.count
        worstDowntimeSeconds = guests.map(\.downtimeSeconds).max() ?? 0
    }

    public init(name: String, evaluation: EvacuationEvaluation, setting: EvacuationSetting) {
        self.name = name
        concurrency = evaluation.schedule.concurrency
        order = evaluation.schedule.order.map { setting.guests[$0].name }
        finishSeconds = evaluation.finishSeconds
        guestsOverLimit = evaluation.guestsOverLimit
        worstDowntimeSeconds = evaluation.worstDowntimeSeconds
        notMoved = (evaluation.outcome.unfinished + evaluation.outcome.notStarted).map { setting.guests[$0].name }
        guests = evaluation.outcome.guests.sorted { ($0.startSeconds, $0.guest) < ($1.startSeconds, $1.guest) }.map { guest in
            EvacuationGuestRow(
                name: setting.guests[guest.guest].name, destination: setting.destinations[guest.destination].name,
                startSeconds: guest.startSeconds, pausedAtSeconds: guest.pausedAtSeconds, endSeconds: guest.endSeconds,
                downtimeSeconds: guest.report.downtimeSeconds, outcome: guest.report.outcome.rawValue,
                iterations: guest.report.iterations.count, bytesSent: guest.report.bytesSent,
                memoryBytes: setting.guests[guest.guest].config.guestMemoryBytes)
        }
    }
}

/// What `livemig plan evacuate` writes: the chosen schedule, the usual strategies beside it,
/// the limits, and (after `--execute`) what the real migrations measured.
public struct EvacuationPlanReport: Sendable, Codable {
    public var host: String
    public var description: String?
    public var downtimeLimitSeconds: Double
    public var finishBySeconds: Double?
    public var method: String
    public var schedulesTried: Int
    public var plan: EvacuationScheduleSummary
    public var strategies: [EvacuationScheduleSummary]
    /// The real run of the plan, if `--execute` ran it.
    public var measured: EvacuationScheduleSummary?

    public init(host: String, description: String?, plan: EvacuationPlan, setting: EvacuationSetting, finishBySeconds: Double?) {
        self.host = host
        self.description = description
        downtimeLimitSeconds = setting.downtimeLimitSeconds
        self.finishBySeconds = finishBySeconds
        method = plan.method
        schedulesTried = plan.schedulesTried
        self.plan = EvacuationScheduleSummary(name: "livemig's plan", evaluation: plan.best, setting: setting)
        strategies = plan.strategies.map { EvacuationScheduleSummary(name: $0.name, evaluation: $0.evaluation, setting: setting) }
    }

    /// The plan's verdict in a sentence: whether every guest stays within the limit, and
    /// whether the evacuation ends by the goal.
    public var verdict: String {
        var sentence = plan.notMoved.isEmpty
            ? "the host is empty after \(Self.seconds(plan.finishSeconds)); "
            : "\(plan.notMoved.count) guest(s) never leave within the time limit (\(plan.notMoved.joined(separator: ", "))); the last migration ends after \(Self.seconds(plan.finishSeconds)); "
        sentence += plan.guestsOverLimit == 0
            ? "every guest's downtime is within \(Self.milliseconds(downtimeLimitSeconds))"
            : "\(plan.guestsOverLimit) guest(s) miss the \(Self.milliseconds(downtimeLimitSeconds)) limit in the best schedule found (over it, aborted or not moved)"
        if let finishBySeconds {
            sentence += plan.finishSeconds <= finishBySeconds && plan.notMoved.isEmpty
                ? "; that meets the goal of \(Self.seconds(finishBySeconds))"
                : "; that misses the goal of \(Self.seconds(finishBySeconds))"
        }
        return sentence
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.0f ms", seconds * 1000) }
    static func seconds(_ seconds: Double) -> String {
        seconds < 100 ? String(format: "%.1f s", seconds) : String(format: "%.0f s (%.1f min)", seconds, seconds / 60)
    }
}
