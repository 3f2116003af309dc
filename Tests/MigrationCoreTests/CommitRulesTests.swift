import MigrationCore
import XCTest

/// The commit rules themselves, as xl has them (`tools/xl/xl_migrate.c`): the source resumes
/// until the clearance may have reached the destination, and after it only when the destination
/// gave the guest back; the destination gives it back only once its copy is gone (its abort
/// destroys first, `DestinationMigrationTests`; both receivers stop at a failed destroy,
/// `CommitRulesBothPathsTests`).
final class CommitRulesTests: XCTestCase {
    func testTheSourceResumesOnlyWhereTheDestinationCannotRunTheGuest() {
        let table: [CommitPoint: CommitVerdict] = [
            .handshake: .resumeSource, .transfer: .resumeSource, .clearanceWithheld: .resumeSource,
            .clearanceSent: .leaveSourcePaused, .destinationReleasedGuest: .resumeSource, .sourceDestroy: .destinationOwnsGuest,
            // Post-copy: the destination ran on (the source is stale) and lacks pages only the source holds.
            .postcopy: .leaveSourcePaused,
        ]
        XCTAssertEqual(Set(table.keys), Set(CommitPoint.allCases), "every point has a rule")
        for (point, verdict) in table {
            XCTAssertEqual(CommitRules.verdict(onFailureAt: point), verdict, "\(point)")
        }
    }

    /// Xen's receiver: libxl checks the stream, the machine keeps the commit rules.
    func testARestoreByTheHypervisorFollowsTheSameCommitRules() {
        var machine = DestinationMigration(completenessCheck: .byHypervisor)
        XCTAssertEqual(machine.handle(.restoredByHypervisor), [.reportReady])
        XCTAssertEqual(machine.handle(.clearedToRun), [.unpauseGuest])
        XCTAssertEqual(machine.handle(.localFailure("unpause failed")), [.destroyGuest, .reportAbort("unpause failed")])

        var lost = DestinationMigration(completenessCheck: .byHypervisor)
        _ = lost.handle(.restoredByHypervisor)
        XCTAssertEqual(lost.handle(.transportFailed("gone")), [.destroyGuest, .reportAbort("gone")])

        var checked = DestinationMigration(completenessCheck: .everyPage)
        XCTAssertEqual(checked.handle(.restoredByHypervisor).first, .reportAbort("a restore by the hypervisor where the stream is checked here"))
        var byHypervisor = DestinationMigration(completenessCheck: .byHypervisor)
        XCTAssertEqual(byHypervisor.handle(.streamOpened(guestPages: 4, vcpuCount: 1)),
                       [.reportAbort("a stream to check where the hypervisor restores the guest")])
    }
}
