import Foundation
import Testing

/// The executables are linked with jemalloc (Package.swift), which must take
/// malloc for the whole process. Listed after libc, or left out by the linker,
/// it would not. jemalloc starts up (and answers its own `MALLOC_CONF`) as soon
/// as it is loaded, called or not, so its own answers prove nothing: the test
/// asks the dynamic loader where each allocator symbol was bound.
@Suite("The service's allocator")
struct AllocatorTests {
    /// The allocator's entry points, as the loader names them in its bindings.
    private static let allocatorSymbols =
        "normal symbol [^a-z_](malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|malloc_usable_size)[^a-z_]"

    @Test("every library of the callaudit binary binds malloc, free and the rest of the allocator to jemalloc, none elsewhere")
    func jemallocTakesMalloc() {
        // Bound all at start-up (`LD_BIND_NOW`), and nothing from the caller's environment preloaded.
        let run = "env -u LD_PRELOAD -u MALLOC_CONF LD_BIND_NOW=1 LD_DEBUG=bindings '\(callauditBinary)' --help 2>&1 >/dev/null"
        let bindings = shellOutput("\(run) | grep -E '\(Self.allocatorSymbols)'")
        let lines = bindings.output.split(separator: "\n")
        #expect(lines.count > 10, "the loader reported the allocator's bindings")
        let elsewhere = lines.filter { !$0.contains("/libjemalloc.so.2 ") }.count
        #expect(elsewhere == 0, "bound elsewhere: \(lines.first { !$0.contains("/libjemalloc.so.2 ") } ?? "")")

        let help = shellOutput("'\(callauditBinary)' --help")
        #expect(help.status == 0 && help.output.contains("USAGE: callaudit"), "the binary itself runs")
    }
}
