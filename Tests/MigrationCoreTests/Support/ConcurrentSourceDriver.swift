/// A clock-faking driver that keeps as many actions out as the engine hands out (up to its
/// `maxActionsInFlight`), completes them in a chosen order, and records what was out together:
/// the protocol a driver of several streams speaks.
import MigrationCore
import XCTest

struct ConcurrentSourceDriver {
    enum CompletionOrder { case oldestFirst, newestFirst }

    var now = 0.0
    var sendSeconds = 0.001
    var order = CompletionOrder.newestFirst
    /// The log the n-th read-and-clear returns (1-based).
    var readLog: (Int) -> DirtyBitmap
    /// Fails the n-th send (1-based) with this message, if set.
    var failingSend: (index: Int, message: String)?
    /// Events to hand the engine before the n-th poll (0-based).
    var events: [Int: SourceEvent] = [:]

    private(set) var actions: [ActionKind] = []
    private(set) var sentPages: [Int] = []
    /// The largest number of sends out at once.
    private(set) var mostSendsOut = 0
    /// Non-send actions handed out while another action was out (kind, kinds out with it).
    private(set) var sideSteps: [(ActionKind, [ActionKind])] = []
    private(set) var eventAnswers: [SourceEventAnswer] = []
    private(set) var readsDone = 0
    private var sends = 0

    init(readLog: @escaping (Int) -> DirtyBitmap) { self.readLog = readLog }

    func count(_ kind: ActionKind) -> Int { actions.filter { $0 == kind }.count }

    mutating func run(_ migration: inout SourceMigration<BitmapPageTracker>, file: StaticString = #filePath,
                      line: UInt = #line) -> MigrationReport? {
        var out: [(id: ActionID, action: SourceAction<[Int]>)] = []
        for index in 0 ..< 200_000 {
            if let event = events[index] { eventAnswers.append(migration.handle(event, now: now)) }
            while let tagged = migration.poll(now: now) {
                let kind = ActionKind(tagged.action)
                actions.append(kind)
                if case .finished(let report) = tagged.action {
                    XCTAssertTrue(out.isEmpty, "finished with actions out", file: file, line: line)
                    return report
                }
                if kind != .send, !out.isEmpty { sideSteps.append((kind, out.map { ActionKind($0.action) })) }
                out.append((tagged.id, tagged.action))
                mostSendsOut = max(mostSendsOut, out.filter { ActionKind($0.action) == .send }.count)
                XCTAssertLessThanOrEqual(out.count, migration.settings.maxActionsInFlight, file: file, line: line)
                XCTAssertEqual(migration.actionsInFlight, out.count, file: file, line: line)
            }
            guard !out.isEmpty else {
                XCTFail("the engine handed out nothing with no action out", file: file, line: line)
                return nil
            }
            let next = order == .oldestFirst ? out.removeFirst() : out.removeLast()
            migration.complete(next.id, outcome(of: next.action), now: now)
        }
        XCTFail("the migration did not finish", file: file, line: line)
        return nil
    }

    private mutating func outcome(of action: SourceAction<[Int]>) -> ActionOutcome<DirtyBitmap> {
        switch action {
        case .readAndClearDirtyLog:
            readsDone += 1
            return .dirtyLog(readLog(readsDone))
        case .peekDirtyLog:
            return .dirtyLog(readLog(0))
        case .send(let pages, _, _):
            sends += 1
            now += sendSeconds
            if let failing = failingSend, failing.index == sends { return .failed(failing.message) }
            sentPages += pages
            return .done
        case .waitUntil(let seconds):
            now = max(now, seconds)
            return .done
        case .sendDeviceState:
            return .sent(bytes: 5_000)
        default:
            return .done
        }
    }
}
