import Foundation
import Testing

/// The executables are linked with jemalloc (Package.swift), which must take
/// malloc for the whole process: linked after libc, or dropped by the linker
/// as unused, it would be loaded and never called.
@Suite("The service's allocator")
struct AllocatorTests {
    @Test("the callaudit binary allocates through jemalloc: it answers jemalloc's own MALLOC_CONF")
    func jemallocTakesMalloc() {
        // glibc ignores MALLOC_CONF; jemalloc, once it served an allocation, prints its statistics at exit.
        let run = shellOutput("MALLOC_CONF=stats_print:true '\(callauditBinary)' --help")
        #expect(run.status == 0, "\(run.output.prefix(500))")
        #expect(run.output.contains("___ Begin jemalloc statistics ___"))
        #expect(run.output.contains("USAGE: callaudit"), "the command itself ran")
    }
}
