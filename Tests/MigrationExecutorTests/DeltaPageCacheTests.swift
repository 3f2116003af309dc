@testable import MigrationExecutor
import MigrationStream
import XCTest

/// The source's copies for XBZRLE deltas: a page's first send goes whole from its copy, a later
/// one as its delta against that copy (when small), and what the destination rebuilds from the
/// frame equals the page as sent; two pages of one batch in one slot, and a page sent as a zero
/// marker, go whole next time.
final class DeltaPageCacheTests: XCTestCase {
    private let pageBytes = 4096

    func testPagesSentAgainGoAsDeltasThatRebuildThem() throws {
        // 8 guest pages; a cache of 4 slots, so pages 1 and 5 share slot 1.
        let guest = UnsafeMutableRawPointer.allocate(byteCount: 8 * pageBytes, alignment: 4096)
        defer { guest.deallocate() }
        for page in 0 ..< 8 { (guest + page * pageBytes).initializeMemory(as: UInt8.self, repeating: UInt8(page + 1), count: pageBytes) }
        let address: (Int) -> UnsafeRawPointer = { UnsafeRawPointer(guest + $0 * self.pageBytes) }
        let cache = DeltaPageCache(bytes: 4 * pageBytes, pageSizeBytes: pageBytes)
        // What the destination holds: filled from the whole pages, then rebuilt from the deltas.
        var destination = [[UInt8]](repeating: [UInt8](repeating: 0, count: pageBytes), count: 8)
        func receive() throws {
            for whole in cache.wholePages {
                destination[whole.page] = Array(UnsafeRawBufferPointer(start: whole.copy, count: pageBytes))
            }
            var offset = 0
            for page in cache.deltaPages {
                let length = Int(cache.frame.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
                try destination[page].withUnsafeMutableBytes { bytes in
                    try XbzrleDelta.apply(UnsafeRawBufferPointer(start: cache.frame + offset + 4, count: length), to: bytes.baseAddress!,
                                          pageBytes: pageBytes, pageNumber: UInt64(page))
                }
                offset += 4 + length
            }
            XCTAssertEqual(offset, cache.frameBytes)
        }

        cache.prepare([0, 1, 2, 5], pageAddress: address)
        XCTAssertEqual(cache.deltaPages, [])
        XCTAssertEqual(cache.wholePages.map(\.page), [0, 1, 2, 5], "first sends go whole; 5 from a scratch copy (slot 1 is 1's)")
        try receive()
        // The guest stamps a word in pages 0, 1, 2 and 5; they go again.
        for page in [0, 1, 2, 5] { (guest + page * pageBytes + 100).storeBytes(of: UInt64(0xABCD_0000 + page), as: UInt64.self) }
        cache.forget([2])
        cache.prepare([0, 1, 5], pageAddress: address)
        XCTAssertEqual(cache.deltaPages, [0, 1], "0 and 1 were kept as sent")
        XCTAssertEqual(cache.wholePages.map(\.page), [5], "5 was never kept (its slot is 1's)")
        XCTAssertLessThan(cache.frameBytes, 2 * 16)
        try receive()
        for page in [0, 1, 5] {
            XCTAssertEqual(destination[page], Array(UnsafeRawBufferPointer(start: address(page), count: pageBytes)), "page \(page)")
        }
        // Page 2 went as a zero marker meanwhile: its copy is forgotten, so it goes whole.
        cache.prepare([2], pageAddress: address)
        XCTAssertEqual(cache.wholePages.map(\.page), [2])
        // A page rewritten all over is no delta: it goes whole, and its copy follows.
        (guest + 0 * pageBytes).initializeMemory(as: UInt8.self, repeating: 0xEE, count: pageBytes)
        cache.prepare([0], pageAddress: address)
        XCTAssertEqual(cache.wholePages.map(\.page), [0])
        try receive()
        cache.prepare([0], pageAddress: address)
        XCTAssertEqual(cache.deltaPages, [0], "its new copy was kept")
        try receive()
        XCTAssertEqual(destination[0], [UInt8](repeating: 0xEE, count: pageBytes))
    }
}
