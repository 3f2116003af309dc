/// EngineSettings.wireBytes: page payload plus per-page headers and one batch header per
/// maxBatchPages pages.
import MigrationCore
import XCTest

final class EngineSettingsTests: XCTestCase {
    func testWireBytes() {
        let settings = EngineSettings()
        XCTAssertEqual(settings.wireBytes(pages: 0), 0)
        XCTAssertEqual(settings.wireBytes(pages: 1), 4096 + 8 + 16)
        XCTAssertEqual(settings.wireBytes(pages: 1024), 4_202_512)
        XCTAssertEqual(settings.wireBytes(pages: 1025), 1025 * 4104 + 2 * 16)
        XCTAssertEqual(settings.wireBytes(pages: 2048), 2048 * 4104 + 2 * 16)
        XCTAssertEqual(EngineSettings(pageSizeBytes: 2 << 20, pageHeaderBytes: 0, batchHeaderBytes: 0).wireBytes(pages: 3),
                       6 * 1_048_576)
    }
}
