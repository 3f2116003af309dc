import Foundation

/// Runs a fuzz target's one-input function over files, outside libFuzzer: how a crash that
/// `scripts/fuzz` found is replayed under a debugger, and how the committed corpus
/// (`Tests/Fuzz/corpus/TARGET`) is checked in an ordinary build. Each argument is a file or a
/// directory of files. Built with `-DLIBFUZZER` (by `scripts/fuzz`), the targets hand the same
/// function to libFuzzer instead and this is not used.
public enum FuzzReplay {
    public static func run(arguments: [String], _ fuzzOne: ([UInt8]) -> Void) {
        var count = 0
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("\(argument): no such file or directory\n".utf8))
                exit(2)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []).sorted().map { "\(argument)/\($0)" }
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                fuzzOne([UInt8](data))
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
