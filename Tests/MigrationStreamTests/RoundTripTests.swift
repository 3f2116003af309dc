/// Encoding then decoding gives back every record type unchanged, in both directions, and the
/// page-batch view hands out the pages where they lie in the receive buffer.
import MigrationStream
import XCTest

final class RoundTripTests: XCTestCase {
    /// A complete source stream using every source record type.
    static let sourceRecords: [StreamRecord] = [
        .guestLayout(GuestLayout(name: "wëb-1", memoryBytes: 0x10000, pageSizeBytes: 4096, vcpuCount: 2, workload: "nginx, 2 GiB working set")),
        .pageBatch(PageBatch(pageNumbers: [0, 1, 2, 15], data: pageData([0, 1, 2, 15]))),
        .pageBatch(PageBatch(pageNumbers: [3], data: pageData([3]))),
        .vcpuState(VcpuState(vcpuId: 0, blob: Array(0 ..< 200))),
        .vcpuState(VcpuState(vcpuId: 1, blob: [])),
        .deviceState([9, 8, 7]),
        .endOfStream,
        .clearedToUnpause,
    ]

    func testSourceStreamRoundTrip() throws {
        let bytes = try encode(Self.sourceRecords)
        XCTAssertEqual(bytes.count % 8, 0, "every record ends 8-byte aligned")
        XCTAssertEqual(try decodeAll(bytes), Self.sourceRecords)
    }

    func testDestinationStreamRoundTrip() throws {
        let records: [StreamRecord] = [.readyToUnpause, .running(RunningReport(unpauseWallClockMicroseconds: 1_795_000_000_123_456, unpauseMicroseconds: 120)),
                                       .firstConsoleLine(destinationWallClockMicroseconds: 1_795_000_000_150_000, text: "hb 12 ✓")]
        XCTAssertEqual(try decodeAll(try encode(records, direction: .destinationToSource), direction: .destinationToSource), records)
    }

    func testAbortRoundTripBothWays() throws {
        let reason = "destination out of memory: needed 65536 bytes ✗"
        let fromSource: [StreamRecord] = [.guestLayout(smallLayout), .abort(reason: reason)]
        XCTAssertEqual(try decodeAll(try encode(fromSource)), fromSource)
        let fromDestination: [StreamRecord] = [.readyToUnpause, .abort(reason: reason)]
        XCTAssertEqual(
            try decodeAll(try encode(fromDestination, direction: .destinationToSource), direction: .destinationToSource),
            fromDestination
        )
    }

    func testLayoutAtEveryLimitRoundTrips() throws {
        let layout = GuestLayout(
            name: String(repeating: "n", count: StreamLimits.maxGuestNameBytes),
            memoryBytes: StreamLimits.maxMemoryBytes, pageSizeBytes: UInt32(StreamLimits.maxPageSizeBytes),
            vcpuCount: UInt32(StreamLimits.maxVcpuCount),
            workload: String(repeating: "w", count: StreamLimits.maxWorkloadBytes)
        )
        let records: [StreamRecord] = [
            .guestLayout(layout),
            .vcpuState(VcpuState(vcpuId: 63, blob: [UInt8](repeating: 1, count: StreamLimits.maxVcpuStateBytes))),
            .deviceState([UInt8](repeating: 2, count: StreamLimits.maxDeviceStateBytes)),
            .endOfStream,
            .abort(reason: String(repeating: "r", count: StreamLimits.maxAbortReasonBytes)),
        ]
        XCTAssertEqual(try decodeAll(try encode(records)), records)
    }

    func testFullBatchOfSmallestPagesRoundTrips() throws {
        let layout = GuestLayout(name: "big", memoryBytes: 1 << 30, pageSizeBytes: 4096, vcpuCount: 1)
        let pages = (0 ..< UInt64(StreamLimits.maxBatchPages)).map { $0 * 3 }
        let records: [StreamRecord] = [.guestLayout(layout), .pageBatch(PageBatch(pageNumbers: pages, data: pageData(pages)))]
        let bytes = try encode(records)
        XCTAssertEqual(bytes.count, 16 + 40 + 8 + StreamLimits.maxBodyBytes(.pageBatch, pageSizeBytes: 4096))
        XCTAssertEqual(try decodeAll(bytes), records)
    }

    func testPageBatchViewSlicesTheReceiveBuffer() throws {
        let pages: [UInt64] = [2, 5]
        let data = pageData(pages)
        var decoder = StreamDecoder(direction: .sourceToDestination)
        decoder.feed(try encode([.guestLayout(smallLayout), .pageBatch(PageBatch(pageNumbers: pages, data: data))]))
        XCTAssertEqual(try decoder.nextRecord(), .guestLayout(smallLayout))
        guard case .pageBatch(let view) = try decoder.nextRecordView() else { return XCTFail("expected a page batch view") }
        XCTAssertEqual(view.pageNumbers, pages)
        XCTAssertEqual(view.pageSizeBytes, 4096)
        // The slice keeps its offsets in the receive buffer: after header (16), layout (40),
        // batch header (8), count/reserved (8) and two page numbers (16).
        XCTAssertEqual(view.data.startIndex, 16 + 40 + 8 + 8 + 16)
        XCTAssertEqual(Array(view.data), data)
        XCTAssertEqual(Array(view.page(at: 1)), Array(data[4096...]))
        XCTAssertEqual(StreamRecordView.pageBatch(view).record, .pageBatch(PageBatch(pageNumbers: pages, data: data)))
        XCTAssertNil(try decoder.nextRecordView())
    }

    func testDecoderTracksLayoutAndPhase() throws {
        var decoder = StreamDecoder(direction: .sourceToDestination)
        XCTAssertEqual(decoder.phase, .awaitingLayout)
        decoder.feed(try encode([.guestLayout(smallLayout), .endOfStream, .clearedToUnpause]))
        XCTAssertNotNil(try decoder.nextRecord())
        XCTAssertEqual(decoder.guestLayout, smallLayout)
        XCTAssertEqual(decoder.guestLayout?.guestPages, 16)
        XCTAssertEqual(decoder.phase, .sendingGuest)
        XCTAssertEqual(try decoder.nextRecord(), .endOfStream)
        XCTAssertEqual(decoder.phase, .ended)
        XCTAssertEqual(try decoder.nextRecord(), .clearedToUnpause)
        XCTAssertEqual(decoder.phase, .closed(by: .clearedToUnpause))
        XCTAssertNil(try decoder.nextRecord())
    }
}
