import FuzzingSupport
import MigrationStream

/// Fuzz target: arbitrary bytes into both directions' stream decoders, fed in uneven pieces,
/// read with both entry points (`nextRecordView`, and `nextItem` taking page data). Any trap,
/// hang or unbounded allocation is a bug: the decoder must refuse bad input with a StreamError.
func fuzzOne(_ bytes: [UInt8]) {
    guard let first = bytes.first else { return }
    let direction: StreamDirection = first & 1 == 0 ? .sourceToDestination : .destinationToSource
    let input = bytes.dropFirst()
    var decoder = StreamDecoder(direction: direction)
    let takesItems = first & 2 != 0
    let step = Int(first >> 2) + 1
    var offset = input.startIndex
    while offset < input.endIndex {
        let end = min(offset + step, input.endIndex)
        decoder.feed(input[offset ..< end])
        offset = end
        do {
            if takesItems {
                while let item = try decoder.nextItem() {
                    if case .pageBatchHead = item {
                        while decoder.pageDataOwedBytes > 0, !decoder.takeBufferedPageData(upTo: 4096).isEmpty {}
                        if decoder.pageDataOwedBytes > 0 { return }
                    }
                }
            } else {
                while try decoder.nextRecordView() != nil {}
            }
        } catch {
            return
        }
    }
}

@main
enum FuzzStreamDecoderMain {
    static func main() { FuzzMain.run(fuzzOne) }
}
