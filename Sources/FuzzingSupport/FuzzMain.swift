import Foundation

/// The entry point of every fuzz target. Built by `scripts/fuzz` (with `-DLIBFUZZER` and
/// `-sanitize=fuzzer,address`) it hands the target's one-input function to libFuzzer through
/// `LLVMFuzzerRunDriver`, so libFuzzer's own `main` is not needed (SwiftPM names the
/// executable's entry itself); in a plain build it replays the files named on the command line.
public enum FuzzMain {
    public static func run(_ fuzzOne: @escaping ([UInt8]) -> Void) -> Never {
        #if LIBFUZZER
        currentTarget = fuzzOne
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
        #else
        FuzzReplay.run(arguments: Array(CommandLine.arguments.dropFirst()), fuzzOne)
        exit(0)
        #endif
    }
}

#if LIBFUZZER
/// The target libFuzzer drives; set once before the driver starts, read only by its thread.
nonisolated(unsafe) private var currentTarget: (([UInt8]) -> Void)?

private let testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { data, size in
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    currentTarget?(bytes)
    return 0
}

/// libFuzzer's driver, for programs with a `main` of their own (compiler-rt's FuzzerDriver.cpp).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif
