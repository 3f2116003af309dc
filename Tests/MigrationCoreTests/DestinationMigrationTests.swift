/// DestinationMigration: the receive/commit handshake, the completeness checks (every page,
/// every vCPU, the device state), and every abort path destroying the partial guest and telling
/// the source why.
import MigrationCore
import XCTest

final class DestinationMigrationTests: XCTestCase {
    /// A machine that has received a whole 10-page, 1-vCPU guest up to (not including) endOfStream.
    private func wholeGuest(pages: Int = 10) -> DestinationMigration {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: pages, vcpuCount: 1))
        _ = dest.handle(.pageBatchAnnounced(pageNumbers: (0 ..< UInt64(pages)).map { $0 }))
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        return dest
    }

    private func abortReason(_ dest: DestinationMigration, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard case .aborted(let reason) = dest.state else {
            XCTFail("state \(dest.state), expected aborted", file: file, line: line)
            return ""
        }
        return reason
    }

    func testHappyPathPerformsEveryStepInOrder() {
        var dest = DestinationMigration()
        XCTAssertEqual(dest.state, .awaitingStream)
        XCTAssertEqual(dest.handle(.streamOpened(guestPages: 3000, vcpuCount: 2)), [.createGuest(pages: 3000)])
        XCTAssertEqual(dest.state, .receiving)
        XCTAssertEqual(dest.handle(.pageBatchAnnounced(pageNumbers: (0 ..< 1024).map { $0 })), [.receivePageData])
        XCTAssertEqual(dest.handle(.pageBatchAnnounced(pageNumbers: (1000 ..< 3000).map { $0 })), [.receivePageData])
        XCTAssertEqual(dest.pagesReceived, 3024)
        XCTAssertEqual(dest.distinctPagesReceived, 3000)
        XCTAssertEqual(dest.handle(.vcpuStateReceived(vcpu: 1)), [.loadVcpuState(vcpu: 1)])
        XCTAssertEqual(dest.handle(.vcpuStateReceived(vcpu: 0)), [.loadVcpuState(vcpu: 0)])
        XCTAssertEqual(dest.handle(.deviceStateReceived), [.loadDeviceState])
        XCTAssertEqual(dest.handle(.endOfStream), [.reportReady])
        XCTAssertEqual(dest.state, .holdsWholeGuest)
        XCTAssertEqual(dest.handle(.clearedToRun), [.unpauseGuest])
        XCTAssertEqual(dest.state, .unpausing)
        XCTAssertEqual(dest.handle(.guestRunning), [.reportRunning])
        XCTAssertEqual(dest.state, .running)
        // Once running, a late transport failure changes nothing.
        XCTAssertEqual(dest.handle(.transportFailed("link down")), [])
        XCTAssertEqual(dest.state, .running)
    }

    /// A stream that repeats pages instead of sending them all is not a whole guest, however
    /// many pages it carried (a 16,384-page guest sent 12,288 distinct pages, some twice).
    func testRepeatedPagesDoNotMakeUpForMissingOnes() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 16_384, vcpuCount: 1))
        for _ in 0 ..< 4 { _ = dest.handle(.pageBatchAnnounced(pageNumbers: (0 ..< 4096).map { $0 })) }
        _ = dest.handle(.pageBatchAnnounced(pageNumbers: (4096 ..< 12_288).map { $0 }))
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.pagesReceived, 24_576)
        let reason = "the stream ended before every page (4096 of 16384 never came, the first is page 12288) arrived"
        XCTAssertEqual(dest.handle(.endOfStream), [.destroyGuest, .reportAbort(reason)])
        XCTAssertEqual(abortReason(dest), reason)
    }

    func testEndOfStreamBeforeAnyStateAborts() {
        var noVcpu = DestinationMigration()
        _ = noVcpu.handle(.streamOpened(guestPages: 10, vcpuCount: 2))
        _ = noVcpu.handle(.pageBatchAnnounced(pageNumbers: (0 ..< 10).map { $0 }))
        _ = noVcpu.handle(.vcpuStateReceived(vcpu: 0))
        _ = noVcpu.handle(.deviceStateReceived)
        XCTAssertEqual(noVcpu.handle(.endOfStream).first, .destroyGuest)
        XCTAssertTrue(abortReason(noVcpu).contains("the state of vCPU 1"), abortReason(noVcpu))

        var noDevices = DestinationMigration()
        _ = noDevices.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        _ = noDevices.handle(.pageBatchAnnounced(pageNumbers: (0 ..< 10).map { $0 }))
        _ = noDevices.handle(.vcpuStateReceived(vcpu: 0))
        XCTAssertEqual(noDevices.handle(.endOfStream).first, .destroyGuest)
        XCTAssertTrue(abortReason(noDevices).contains("the device state"), abortReason(noDevices))
    }

    func testStateForAMissingOrRepeatedVcpuAborts() {
        var beyond = DestinationMigration()
        _ = beyond.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        XCTAssertEqual(beyond.handle(.vcpuStateReceived(vcpu: 1)),
                       [.destroyGuest, .reportAbort("state for vCPU 1; the guest has 1")])

        var twice = DestinationMigration()
        _ = twice.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        _ = twice.handle(.vcpuStateReceived(vcpu: 0))
        XCTAssertEqual(twice.handle(.vcpuStateReceived(vcpu: 0)), [.destroyGuest, .reportAbort("a second state for vCPU 0")])

        var twoDeviceStates = DestinationMigration()
        _ = twoDeviceStates.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        _ = twoDeviceStates.handle(.deviceStateReceived)
        XCTAssertEqual(twoDeviceStates.handle(.deviceStateReceived), [.destroyGuest, .reportAbort("a second device state")])
    }

    func testAPageBeyondTheGuestAbortsBeforeItsDataIsRead() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        XCTAssertEqual(dest.handle(.pageBatchAnnounced(pageNumbers: [3, 10])),
                       [.destroyGuest, .reportAbort("page 10 is beyond the guest's 10 pages")])
    }

    func testTransportFailureWhileReceivingDestroysTheGuest() {
        var dest = DestinationMigration()
        _ = dest.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        _ = dest.handle(.pageBatchAnnounced(pageNumbers: [0, 1, 2, 3]))
        XCTAssertEqual(dest.handle(.transportFailed("link down")), [.destroyGuest, .reportAbort("link down")])
        XCTAssertEqual(dest.state, .aborted("link down"))
        XCTAssertEqual(dest.handle(.pageBatchAnnounced(pageNumbers: [4])), [])
    }

    func testTransportFailureWhileHoldingTheWholeGuestDestroysIt() {
        var dest = wholeGuest()
        XCTAssertEqual(dest.handle(.endOfStream), [.reportReady])
        XCTAssertEqual(dest.handle(.transportFailed("source gone")), [.destroyGuest, .reportAbort("source gone")])
        XCTAssertEqual(dest.state, .aborted("source gone"))
        XCTAssertEqual(dest.handle(.clearedToRun), [])
    }

    func testASourceAbortIsNotAnsweredWithAnAbort() {
        var dest = wholeGuest()
        XCTAssertEqual(dest.handle(.sourceAborted("cancelled")), [.destroyGuest])
        XCTAssertEqual(dest.state, .aborted("the source aborted: cancelled"))
    }

    func testAGuestThatFailsToStartIsDestroyedAndReported() {
        var dest = wholeGuest()
        _ = dest.handle(.endOfStream)
        XCTAssertEqual(dest.handle(.clearedToRun), [.unpauseGuest])
        XCTAssertEqual(dest.handle(.localFailure("the guest did not start: KVM_RUN")),
                       [.destroyGuest, .reportAbort("the guest did not start: KVM_RUN")])
    }

    func testClearedToRunBeforeEndOfStreamAborts() {
        var dest = wholeGuest()
        XCTAssertEqual(dest.handle(.clearedToRun).first, .destroyGuest)
        XCTAssertTrue(abortReason(dest).contains("unexpected"), abortReason(dest))
    }

    func testFailureBeforeTheStreamOpensHasNoGuestToDestroy() {
        var dest = DestinationMigration()
        XCTAssertEqual(dest.handle(.transportFailed("refused")), [.reportAbort("refused")])
        XCTAssertEqual(dest.state, .aborted("refused"))
    }

    func testInvalidStreamsAbort() {
        var empty = DestinationMigration()
        XCTAssertEqual(empty.handle(.streamOpened(guestPages: 0, vcpuCount: 1)), [.reportAbort("the stream announces a guest of 0 pages")])

        var noVcpus = DestinationMigration()
        XCTAssertEqual(noVcpus.handle(.streamOpened(guestPages: 10, vcpuCount: 0)).count, 1)
        XCTAssertEqual(noVcpus.state, .aborted("the stream announces a guest of 0 vCPUs"))

        var reopened = DestinationMigration()
        _ = reopened.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        XCTAssertEqual(reopened.handle(.streamOpened(guestPages: 10, vcpuCount: 1)).first, .destroyGuest)

        var countsWherePagesAreNeeded = DestinationMigration()
        _ = countsWherePagesAreNeeded.handle(.streamOpened(guestPages: 10, vcpuCount: 1))
        XCTAssertEqual(countsWherePagesAreNeeded.handle(.pagesReceived(count: 10)).first, .destroyGuest)
    }

    /// The fluid simulator's destination counts pages: enough of them make a whole guest.
    func testPageCountCompleteness() {
        var dest = DestinationMigration(completenessCheck: .pageCount)
        _ = dest.handle(.streamOpened(guestPages: 3000, vcpuCount: 1))
        XCTAssertEqual(dest.handle(.pagesReceived(count: 2990)), [])
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.handle(.endOfStream).first, .destroyGuest)
        XCTAssertEqual(abortReason(dest), "the stream ended before every page (2990 received of 3000) arrived")

        var whole = DestinationMigration(completenessCheck: .pageCount)
        _ = whole.handle(.streamOpened(guestPages: 3000, vcpuCount: 1))
        _ = whole.handle(.pagesReceived(count: 3000))
        _ = whole.handle(.vcpuStateReceived(vcpu: 0))
        _ = whole.handle(.deviceStateReceived)
        XCTAssertEqual(whole.handle(.endOfStream), [.reportReady])
        XCTAssertEqual(whole.handle(.pagesReceived(count: -1)).first, .destroyGuest)
    }

    /// `--verify-memory`: with the source's digest, "ready" waits for the memory check; a
    /// second digest is refused.
    func testAMemoryDigestPutsAVerificationBeforeReady() {
        var dest = DestinationMigration(completenessCheck: .pageCount)
        _ = dest.handle(.streamOpened(guestPages: 4, vcpuCount: 1))
        _ = dest.handle(.pagesReceived(count: 4))
        _ = dest.handle(.vcpuStateReceived(vcpu: 0))
        _ = dest.handle(.deviceStateReceived)
        XCTAssertEqual(dest.handle(.memoryDigestReceived), [])
        XCTAssertEqual(dest.handle(.endOfStream), [.verifyMemory, .reportReady])

        var twice = DestinationMigration(completenessCheck: .pageCount)
        _ = twice.handle(.streamOpened(guestPages: 4, vcpuCount: 1))
        _ = twice.handle(.memoryDigestReceived)
        XCTAssertEqual(twice.handle(.memoryDigestReceived), [.destroyGuest, .reportAbort("a second memory digest")])
    }
}

/// The destination's half of post-copy: the hand-over, the pages that follow, and a cut that
/// holds the guest instead of destroying it.
final class PostcopyDestinationTests: XCTestCase {
    private func receivingMachine(pages: Int = 8) -> DestinationMigration {
        var machine = DestinationMigration()
        _ = machine.handle(.streamOpened(guestPages: pages, vcpuCount: 1))
        _ = machine.handle(.pageBatchAnnounced(pageNumbers: (0 ..< UInt64(pages)).map { $0 }))
        _ = machine.handle(.vcpuStateReceived(vcpu: 0))
        _ = machine.handle(.deviceStateReceived)
        return machine
    }

    private func missing(_ pages: [Int], of count: Int = 8) -> DirtyBitmap {
        var bitmap = DirtyBitmap(pageCount: count)
        for page in pages { bitmap.insert(page) }
        return bitmap
    }

    func testTheHandOverRunsTheGuestAndTheMissingPagesCompleteIt() {
        var machine = receivingMachine()
        XCTAssertEqual(machine.handle(.postcopyStarted(missingPages: missing([2, 5]), missingCount: 2)), [.markPagesMissing, .unpauseGuest])
        XCTAssertEqual(machine.handle(.guestRunning), [.reportRunning])
        XCTAssertEqual(machine.state, .runningPostcopy)
        XCTAssertEqual(machine.handle(.pageBatchAnnounced(pageNumbers: [5])), [.receivePageData])
        // The end before page 2 came back: held, not destroyed.
        var early = machine
        XCTAssertEqual(early.handle(.endOfStream).first, .holdGuestPaused)
        XCTAssertEqual(machine.handle(.pageBatchAnnounced(pageNumbers: [2])), [.receivePageData])
        XCTAssertEqual(machine.handle(.endOfStream), [.reportPostcopyComplete])
        XCTAssertEqual(machine.state, .running)
    }

    func testALinkFailureInPostcopyHoldsTheGuestAndNeverDestroysIt() {
        var machine = receivingMachine()
        _ = machine.handle(.postcopyStarted(missingPages: missing([1]), missingCount: 1))
        _ = machine.handle(.guestRunning)
        let actions = machine.handle(.transportFailed("reset"))
        XCTAssertEqual(actions, [.holdGuestPaused, .reportAbort("reset")])
        XCTAssertFalse(actions.contains(.destroyGuest))
        XCTAssertEqual(machine.state, .postcopyInterrupted("reset"))
        XCTAssertEqual(machine.handle(.sourceAborted("late")), [])
    }

    func testAHandOverThatLeavesAPageNeitherReceivedNorMissingIsRefused() {
        var machine = DestinationMigration()
        _ = machine.handle(.streamOpened(guestPages: 8, vcpuCount: 1))
        _ = machine.handle(.pageBatchAnnounced(pageNumbers: [0, 1, 2, 3, 4, 5]))
        _ = machine.handle(.vcpuStateReceived(vcpu: 0))
        _ = machine.handle(.deviceStateReceived)
        let actions = machine.handle(.postcopyStarted(missingPages: missing([6]), missingCount: 1))
        XCTAssertEqual(actions.first, .destroyGuest, "the guest never ran: an ordinary abort")
        guard case .aborted(let why) = machine.state else { return XCTFail("not aborted") }
        XCTAssertTrue(why.contains("1 pages neither received nor named missing"), why)
    }

    func testAHandOverBeforeTheDeviceStateOrWithAWrongCountIsRefused() {
        var machine = DestinationMigration()
        _ = machine.handle(.streamOpened(guestPages: 8, vcpuCount: 1))
        _ = machine.handle(.vcpuStateReceived(vcpu: 0))
        _ = machine.handle(.postcopyStarted(missingPages: missing(Array(0 ..< 8)), missingCount: 8))
        XCTAssertEqual(machine.state, .aborted("post-copy before the device state"))
        var counted = receivingMachine()
        _ = counted.handle(.postcopyStarted(missingPages: missing([1, 2]), missingCount: 3))
        guard case .aborted = counted.state else { return XCTFail("a count that disagrees with the list was taken") }
    }

    func testAPageTheRunningGuestAlreadyHoldsInterruptsInsteadOfOverwritingIt() {
        var machine = receivingMachine()
        _ = machine.handle(.postcopyStarted(missingPages: missing([3, 6]), missingCount: 2))
        _ = machine.handle(.guestRunning)
        let actions = machine.handle(.pageBatchAnnounced(pageNumbers: [6, 4]))
        XCTAssertEqual(actions.first, .holdGuestPaused, "page 4 came before the hand-over; placing it again would undo the guest's writes")
        XCTAssertFalse(actions.contains(.receivePageData))
        guard case .postcopyInterrupted(let why) = machine.state else { return XCTFail("page 4 was taken") }
        XCTAssertTrue(why.contains("page 4 arrived during post-copy but was not missing"), why)

        var twice = receivingMachine()
        _ = twice.handle(.postcopyStarted(missingPages: missing([3, 6]), missingCount: 2))
        _ = twice.handle(.guestRunning)
        XCTAssertEqual(twice.handle(.zeroPagesAnnounced(pageNumbers: [3])), [.zeroAnnouncedPages])
        XCTAssertEqual(twice.handle(.pageBatchAnnounced(pageNumbers: [3])).first, .holdGuestPaused, "page 3 was placed once already")
        var beyond = receivingMachine()
        _ = beyond.handle(.postcopyStarted(missingPages: missing([3]), missingCount: 1))
        _ = beyond.handle(.guestRunning)
        XCTAssertFalse(beyond.handle(.pageBatchAnnounced(pageNumbers: [8])).contains(.destroyGuest), "a running guest is never destroyed")
        XCTAssertEqual(beyond.state, .postcopyInterrupted("page 8 is beyond the guest's 8 pages"))
    }
}

