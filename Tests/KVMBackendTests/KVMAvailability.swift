import Foundation
import XCTest

/// Tests that need `/dev/kvm` call this first: when it is missing they fail and say so, loudly;
/// they never pass silently.
func requireKVM(file: StaticString = #filePath, line: UInt = #line) throws {
    guard FileManager.default.fileExists(atPath: "/dev/kvm") else {
        XCTFail("/dev/kvm is missing: this test needs KVM (these machines have it; check the kvm module and permissions)",
                file: file, line: line)
        throw XCTSkip("no /dev/kvm")
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
