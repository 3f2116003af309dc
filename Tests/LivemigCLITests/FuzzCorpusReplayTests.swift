import Foundation
import XCTest

/// Every input in the committed fuzz corpora (seeds, and inputs that once crashed a target,
/// named regression-*) goes through its fuzz target's plain build in the normal suite: a
/// finding of `scripts/fuzz` stays fixed.
final class FuzzCorpusReplayTests: XCTestCase {
    private func replay(_ target: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let binary = try LivemigProcess.binary().deletingLastPathComponent().appendingPathComponent(target).path
        let corpus = LivemigProcess.packageRoot.appendingPathComponent("Tests/Fuzz/corpus/\(target)").path
        let inputs = try FileManager.default.contentsOfDirectory(atPath: corpus).count
        XCTAssertGreaterThan(inputs, 0, file: file, line: line)
        let result = try LivemigProcess.runExecutable(binary, [corpus])
        XCTAssertEqual(result.status, 0, "\(target) failed on its corpus: \(result.stderr.suffix(2000))", file: file, line: line)
        XCTAssertTrue(result.stdout.contains("replayed \(inputs) inputs"), result.stdout, file: file, line: line)
    }

    func testStreamDecoderCorpus() throws { try replay("FuzzStreamDecoder") }
    func testRelocationConfigCorpus() throws { try replay("FuzzRelocationConfig") }
    func testScenarioReaderCorpus() throws { try replay("FuzzScenarioReader") }
}
