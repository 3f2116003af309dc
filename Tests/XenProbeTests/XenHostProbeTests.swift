import Foundation
import XCTest
import XenProbe

/// `XenHostProbe` through the CXen shim: off Xen it throws one line naming `/dev/xen/privcmd`;
/// on a Xen host it reports a Xen 4 hypervisor and its memory.
final class XenHostProbeTests: XCTestCase {
    private let privcmd = "/dev/xen/privcmd"

    func testProbeOffXenThrowsOneLineNamingPrivcmd() throws {
        guard !FileManager.default.fileExists(atPath: privcmd) else {
            throw XCTSkip("this machine is a Xen host")
        }
        do {
            let info = try XenHostProbe.probe()
            XCTFail("the probe succeeded without \(privcmd): \(info)")
        } catch {
            XCTAssertTrue(error.description.contains(privcmd), error.description)
            XCTAssertTrue(error.description.contains("not a Xen host"), error.description)
            XCTAssertFalse(error.description.contains("\n"), "one line: \(error.description)")
        }
    }

    func testProbeOnXenReportsVersionAndMemory() throws {
        guard FileManager.default.fileExists(atPath: privcmd) else {
            throw XCTSkip("not a Xen host: \(privcmd) does not exist")
        }
        let info = try XenHostProbe.probe()
        XCTAssertGreaterThanOrEqual(info.versionMajor, 4)
        XCTAssertGreaterThan(info.totalPages, 0)
        XCTAssertLessThanOrEqual(info.freePages, info.totalPages)
    }

    func testBuildVersionNamesTheLinkedLibraries() {
        XCTAssertTrue(XenHostProbe.buildVersion.hasPrefix("libxl/libxenguest"), XenHostProbe.buildVersion)
    }
}
