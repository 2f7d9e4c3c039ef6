/// A POSIX ustar archive of regular files in one folder, written in memory:
/// what the report bundle is downloaded as, readable by `tar` and every
/// archive tool without a library. Everything unpacks into the folder (never
/// over the files where it is unpacked); the folder goes in ustar's `prefix`
/// field and each plain name (at most 100 bytes of ASCII, no slash) in `name`.
package struct USTar {
    package struct File: Sendable {
        package var name: String
        package var bytes: [UInt8]

        package init(_ name: String, _ bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    package enum Problem: Error, Equatable {
        /// Not a plain name: empty, longer than 100 bytes (155 for the folder), not printable ASCII, or with a slash.
        case unsupportedName(String)
    }

    private static let block = 512

    /// The archive of `files` in `folder`: a header and the padded bytes per file, then two empty blocks.
    /// `modified` (seconds since 1970) is every file's time, so the same files give the same archive.
    package static func archive(_ files: [File], in folder: String, modified: Int64) throws(Problem) -> [UInt8] {
        let prefix = try plain(folder, longest: 155)
        var out: [UInt8] = []
        out.reserveCapacity(files.reduce(2 * block) { $0 + block + padded($1.bytes.count) })
        for file in files {
            out += try header(file, prefix: prefix, modified: modified)
            out += file.bytes
            out += [UInt8](repeating: 0, count: padded(file.bytes.count) - file.bytes.count)
        }
        out += [UInt8](repeating: 0, count: 2 * block)
        return out
    }

    private static func padded(_ count: Int) -> Int { (count + block - 1) / block * block }

    /// `text` as bytes when it is a plain name of at most `longest` bytes.
    private static func plain(_ text: String, longest: Int) throws(Problem) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= longest, text != ".", text != "..", bytes.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "/") }) else {
            throw .unsupportedName(text)
        }
        return bytes
    }

    /// The 512-byte ustar header of a regular file in the folder `prefix`, mode 0644, owned by nobody in particular.
    private static func header(_ file: File, prefix: [UInt8], modified: Int64) throws(Problem) -> [UInt8] {
        let name = try plain(file.name, longest: 100)
        var header = [UInt8](repeating: 0, count: block)
        func put(_ bytes: [UInt8], at offset: Int) { header.replaceSubrange(offset..<offset + bytes.count, with: bytes) }
        put(name, at: 0)
        put(octal(0o644, width: 8), at: 100)  // mode
        put(octal(0, width: 8), at: 108)  // uid
        put(octal(0, width: 8), at: 116)  // gid
        put(octal(Int64(file.bytes.count), width: 12), at: 124)
        put(octal(max(modified, 0), width: 12), at: 136)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148)  // the checksum counts its own field as spaces
        header[156] = UInt8(ascii: "0")  // a regular file
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        let checksum = header.reduce(0) { $0 + Int64($1) }
        put(octal(checksum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return header
    }

    /// `value` in octal, zero-padded to `width - 1` digits and NUL-terminated, as ustar's numeric fields are.
    private static func octal(_ value: Int64, width: Int) -> [UInt8] {
        let digits = String(value, radix: 8)
        return Array((String(repeating: "0", count: max(width - 1 - digits.count, 0)) + digits).utf8) + [0]
    }
}
