/// A scripted, clock-faking driver for `SourceMigration<BitmapPageTracker>`: performs each
/// action instantly except sends (which take `sendSeconds`) and waits (which jump the clock),
/// answers dirty-log reads and peeks from closures, and fails chosen actions on request.
/// It records every action so tests can assert the exact protocol.
import MigrationCore
import XCTest

/// An action without its payload, for recording and comparing.
enum ActionKind: Hashable {
    case enableDirtyLogging, peekDirtyLog, readAndClearDirtyLog, send, waitUntil
    case throttleGuest(Int)
    case pauseGuest, sendDeviceState, awaitDestinationReady, clearDestinationToRun, startPostcopy, destroySource
    case disableDirtyLogging, resumeSource, finished

    init<B>(_ action: SourceAction<B>) {
        switch action {
        case .enableDirtyLogging: self = .enableDirtyLogging
        case .peekDirtyLog: self = .peekDirtyLog
        case .readAndClearDirtyLog: self = .readAndClearDirtyLog
        case .send: self = .send
        case .waitUntil: self = .waitUntil
        case .throttleGuest(let percent): self = .throttleGuest(percent)
        case .pauseGuest: self = .pauseGuest
        case .sendDeviceState: self = .sendDeviceState
        case .awaitDestinationReady: self = .awaitDestinationReady
        case .clearDestinationToRun: self = .clearDestinationToRun
        case .startPostcopy: self = .startPostcopy
        case .destroySource: self = .destroySource
        case .disableDirtyLogging: self = .disableDirtyLogging
        case .resumeSource: self = .resumeSource
        case .finished: self = .finished
        }
    }
}

/// One `.send` the driver performed.
struct SentBatch {
    var startSeconds: Double
    var pages: [Int]
    var pageCount: Double
    var wireBytes: Double
    /// Dirty-log reads completed before this send: 0 for round 1, 1 for the round after the
    /// first read, and so on.
    var readsBefore: Int
}

struct ScriptedSourceDriver {
    var now = 0.0
    var sendSeconds = 0.001
    var deviceStateBytes = 5_000.0
    /// Extra seconds other actions take (sends use `sendSeconds`).
    var actionSeconds: [ActionKind: Double] = [:]
    /// The log the n-th read-and-clear returns (1-based).
    var readLog: (Int) -> DirtyBitmap
    /// The log the n-th peek returns (1-based).
    var peekLog: (Int) -> DirtyBitmap
    /// A failure message for this action (given the actions before it), or nil to perform it.
    var failure: (ActionKind, [ActionKind]) -> String? = { _, _ in nil }
    /// A reason not to perform this action at all (a cancel that came first), or nil.
    var notPerformed: (ActionKind, [ActionKind]) -> String? = { _, _ in nil }
    /// A reason the destination gave the guest back instead of running it (for the clearance
    /// and the post-copy hand-over), or nil.
    var released: (ActionKind, [ActionKind]) -> String? = { _, _ in nil }
    var actionLimit = 200_000
    /// Events to hand the engine just before it is polled for the n-th action (0-based).
    var events: [Int: SourceEvent] = [:]

    /// The engine's answers to `events`, in the order given.
    private(set) var eventAnswers: [SourceEventAnswer] = []

    private(set) var actions: [ActionKind] = []
    private(set) var sends: [SentBatch] = []
    private(set) var waits: [Double] = []
    private(set) var readsDone = 0
    private(set) var peeksDone = 0
    /// The pages `startPostcopy` named missing, if it came.
    private(set) var postcopyMissing: [Int]?

    /// Reads return `readLog`; peeks return an empty bitmap unless `peekLog` is given.
    init(guestPages: Int, readLog: @escaping (Int) -> DirtyBitmap, peekLog: ((Int) -> DirtyBitmap)? = nil) {
        self.readLog = readLog
        let empty = DirtyBitmap(pageCount: guestPages)
        self.peekLog = peekLog ?? { _ in empty }
    }

    /// Fails the n-th occurrence (1-based) of `kind` with `message`.
    static func failNth(_ kind: ActionKind, _ n: Int, _ message: String) -> (ActionKind, [ActionKind]) -> String? {
        { current, before in
            current == kind && before.filter { $0 == kind }.count + 1 == n ? message : nil
        }
    }

    func count(_ kind: ActionKind) -> Int { actions.filter { $0 == kind }.count }

    /// Drives the migration until `.finished`; returns its report.
    mutating func run(_ migration: inout SourceMigration<BitmapPageTracker>,
                      file: StaticString = #filePath, line: UInt = #line) -> MigrationReport? {
        for index in 0 ..< actionLimit {
            if let event = events[index] { eventAnswers.append(migration.handle(event, now: now)) }
            guard let tagged = migration.poll(now: now) else {
                XCTFail("the engine handed out nothing with no action out", file: file, line: line)
                return nil
            }
            let action = tagged.action
            let id = tagged.id
            let kind = ActionKind(action)
            let before = actions
            actions.append(kind)
            if case .finished(let report) = action { return report }
            if let message = failure(kind, before) {
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .failed(message), now: now)
                continue
            }
            if let message = notPerformed(kind, before) {
                migration.complete(id, .notPerformed(message), now: now)
                continue
            }
            if let reason = released(kind, before) {
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .released(reason), now: now)
                continue
            }
            switch action {
            case .peekDirtyLog:
                peeksDone += 1
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .dirtyLog(peekLog(peeksDone)), now: now)
            case .readAndClearDirtyLog:
                readsDone += 1
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .dirtyLog(readLog(readsDone)), now: now)
            case .send(let batch, let pageCount, let wireBytes):
                sends.append(SentBatch(startSeconds: now, pages: batch, pageCount: pageCount,
                                       wireBytes: wireBytes, readsBefore: readsDone))
                now += sendSeconds
                migration.complete(id, .done, now: now)
            case .waitUntil(let seconds):
                waits.append(seconds)
                now = max(now, seconds)
                migration.complete(id, .done, now: now)
            case .sendDeviceState:
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .sent(bytes: deviceStateBytes), now: now)
            case .startPostcopy(let missing, let pageCount):
                XCTAssertEqual(Double(missing.count), pageCount, file: file, line: line)
                postcopyMissing = missing
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .done, now: now)
            case .finished:
                preconditionFailure("handled above")
            default:
                now += actionSeconds[kind] ?? 0
                migration.complete(id, .done, now: now)
            }
        }
        XCTFail("the migration did not finish within \(actionLimit) actions", file: file, line: line)
        return nil
    }

    /// Pages sent in the sends that followed exactly `reads` dirty-log reads, in send order.
    func pagesSent(afterReads reads: Int) -> [Int] {
        sends.filter { $0.readsBefore == reads }.flatMap(\.pages)
    }
}

/// A page-level migration of `guestPages` pages.
func makeSourceMigration(guestPages: Int, policy: any PrecopyPolicy,
                         settings: EngineSettings = EngineSettings(),
                         collectsPageNumbers: Bool = true) -> SourceMigration<BitmapPageTracker> {
    SourceMigration(tracker: BitmapPageTracker(pageCount: guestPages, collectsPageNumbers: collectsPageNumbers),
                    policy: policy, settings: settings)
}
