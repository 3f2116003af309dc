/// DirtyBitmap: single-page insert/contains/count, range inserts across 64-bit word
/// boundaries, setAll/init(words:) clearing the bits past pageCount, and formUnion's count.
import MigrationCore
import XCTest

final class DirtyBitmapTests: XCTestCase {
    func testNewBitmapIsEmptyWithOneWordPer64Pages() {
        let map = DirtyBitmap(pageCount: 130)
        XCTAssertEqual(map.pageCount, 130)
        XCTAssertEqual(map.words.count, 3)
        XCTAssertEqual(map.count, 0)
        XCTAssertFalse(map.contains(0))
        XCTAssertFalse(map.contains(129))
    }

    func testInsertContainsAndCount() {
        var map = DirtyBitmap(pageCount: 200)
        for page in [0, 63, 64, 130, 199] { map.insert(page) }
        map.insert(64) // twice: still one page
        XCTAssertEqual(map.count, 5)
        for page in [0, 63, 64, 130, 199] { XCTAssertTrue(map.contains(page), "page \(page)") }
        for page in [1, 62, 65, 129, 131, 198] { XCTAssertFalse(map.contains(page), "page \(page)") }
        XCTAssertEqual(map.words[0], 1 | (1 << 63))
        XCTAssertEqual(map.words[1], 1)
        XCTAssertEqual(map.words[2], 1 << 2)
        XCTAssertEqual(map.words[3], 1 << 7)
    }

    func testInsertRangeAcrossWordBoundaries() {
        var map = DirtyBitmap(pageCount: 192)
        map.insert(range: 60 ..< 130)
        XCTAssertEqual(map.count, 70)
        XCTAssertEqual(map.words[0], 0xF000_0000_0000_0000) // pages 60...63
        XCTAssertEqual(map.words[1], ~0)                    // pages 64...127
        XCTAssertEqual(map.words[2], 0b11)                  // pages 128, 129
        XCTAssertFalse(map.contains(59))
        XCTAssertTrue(map.contains(60))
        XCTAssertTrue(map.contains(129))
        XCTAssertFalse(map.contains(130))
    }

    func testInsertRangeOfOneAlignedWordAndEmptyRange() {
        var map = DirtyBitmap(pageCount: 192)
        map.insert(range: 64 ..< 128)
        map.insert(range: 5 ..< 5)
        XCTAssertEqual(map.words, [0, ~0, 0])
        XCTAssertEqual(map.count, 64)
    }

    func testInsertRangeInsideOneWord() {
        var map = DirtyBitmap(pageCount: 64)
        map.insert(range: 3 ..< 6)
        XCTAssertEqual(map.words, [0b111000])
    }

    func testSetAllClearsTailBitsPastPageCount() {
        var map = DirtyBitmap(pageCount: 70)
        map.setAll()
        XCTAssertEqual(map.count, 70)
        XCTAssertEqual(map.words[0], ~0)
        XCTAssertEqual(map.words[1], 0b11_1111) // pages 64...69 only
        XCTAssertEqual(DirtyBitmap.full(pageCount: 70), map)
    }

    func testSetAllOnExactMultipleOf64() {
        XCTAssertEqual(DirtyBitmap.full(pageCount: 128).count, 128)
        XCTAssertEqual(DirtyBitmap.full(pageCount: 0).count, 0)
    }

    func testInitFromRawWordsDropsBitsPastPageCount() {
        let map = DirtyBitmap(pageCount: 70, words: [~0, ~0])
        XCTAssertEqual(map.count, 70)
        XCTAssertEqual(map.words[1], 0b11_1111)
    }

    func testRemoveAllEmptiesTheBitmap() {
        var map = DirtyBitmap.full(pageCount: 100)
        map.removeAll()
        XCTAssertEqual(map.count, 0)
        XCTAssertEqual(map, DirtyBitmap(pageCount: 100))
    }

    func testFormUnionReturnsCountOfOtherNotOfNewPages() {
        var mine = bitmap(pageCount: 200, pages: [1, 2, 3, 150])
        let other = bitmap(pageCount: 200, pages: [3, 4, 199])
        let held = mine.formUnion(other)
        XCTAssertEqual(held, 3) // the other's pages, the overlapping page 3 included
        XCTAssertEqual(mine.count, 6)
        XCTAssertEqual(pages(in: mine), [1, 2, 3, 4, 150, 199])
    }

    func testFormUnionWithEmptyReturnsZeroAndChangesNothing() {
        var mine = bitmap(pageCount: 70, pages: [69])
        XCTAssertEqual(mine.formUnion(DirtyBitmap(pageCount: 70)), 0)
        XCTAssertEqual(pages(in: mine), [69])
    }
}
