#if canImport(Glibc)
import Glibc
#endif

/// Gives the calling thread `name` where the operating system shows it
/// (`top -H`, `/proc/PID/task/TID/comm`, debuggers, profilers).
///
/// Foundation's `Thread.name` does not reach the OS on Linux, so without this
/// every thread of the process carries the process's name, and a per-thread
/// CPU sample cannot tell a rebuild's stages apart. Linux keeps at most 15
/// bytes: longer names keep their first 15 bytes, cut before a UTF-8
/// continuation byte so the name stays valid text.
package func nameCurrentThread(_ name: String) {
    #if os(Linux)
    // Swift's Glibc module does not export pthread_setname_np (a _GNU_SOURCE
    // extension), so the name goes where that call would write it.
    let bytes = osThreadName(name)
    let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    #endif
}

/// The bytes the OS keeps of `name`: at most 15, ending on a whole character.
package func osThreadName(_ name: String) -> [UInt8] {
    var bytes = Array(name.utf8.prefix(15))
    guard name.utf8.count > 15 else { return bytes }
    // The last character may be cut in two: find its lead byte (past any
    // continuation bytes, 10xxxxxx) and keep it only if all of it fits.
    var start = bytes.count - 1
    while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
    let lead = bytes[start]
    let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
    if start + length > bytes.count { bytes.removeSubrange(start...) }
    return bytes
}
