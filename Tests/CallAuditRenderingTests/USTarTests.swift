import Foundation
import Testing

@testable import CallAuditRendering

@Suite("The ustar writer: archives that tar and Python's tarfile read back byte for byte")
struct USTarTests {
    private static let folder = "callaudit-day-2026-11-23-v1"
    private static let files = [
        USTar.File("report.json", Array(#"{"a":1}"#.utf8)),
        USTar.File("report.sig", (0..<64).map { UInt8($0 * 3 % 256) }),
        USTar.File("empty.txt", []),
        USTar.File("exactly-one-block.bin", [UInt8](repeating: 0xAB, count: 512)),
        USTar.File(String(repeating: "n", count: 96) + ".pem", Array("-----BEGIN PUBLIC KEY-----\n".utf8)),
    ]

    @Test("sizes: a header and padded data per file, two empty blocks at the end; the same files give the same bytes")
    func layout() throws {
        let archive = try USTar.archive(Self.files, in: Self.folder, modified: 1_795_000_000)
        #expect(archive.count == 512 * (5 + 1 + 1 + 0 + 1 + 1) + 1024)
        #expect(archive.suffix(1024).allSatisfy { $0 == 0 })
        #expect(try USTar.archive(Self.files, in: Self.folder, modified: 1_795_000_000) == archive)
    }

    @Test("names that are not plain are refused", arguments: ["", "a/b", "..", String(repeating: "x", count: 101), "sp ace", "é"])
    func refusesNames(_ name: String) {
        #expect(throws: USTar.Problem.unsupportedName(name)) { try USTar.archive([USTar.File(name, [1])], in: "bundle", modified: 0) }
    }

    @Test("folders that are not plain are refused", arguments: ["", "a/b", ".", "..", String(repeating: "x", count: 156), "sp ace"])
    func refusesFolders(_ folder: String) {
        #expect(throws: USTar.Problem.unsupportedName(folder)) { try USTar.archive([USTar.File("a", [1])], in: folder, modified: 0) }
    }

    @Test("tar -tvf lists every file in its folder; Python's tarfile extracts the same bytes")
    func readByTools() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ustar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bundle.tar").path
        try Data(try USTar.archive(Self.files, in: Self.folder, modified: 1_795_000_000)).write(to: URL(fileURLWithPath: path))

        let listing = try run("/usr/bin/tar", ["-tvf", path])
        for file in Self.files {
            #expect(listing.contains("\(Self.folder)/\(file.name)"), "\(listing)")
        }
        let script = """
            import sys, tarfile, hashlib
            with tarfile.open(sys.argv[1]) as t:
                for m in t.getmembers():
                    assert m.isfile() and m.mode == 0o644 and m.mtime == 1795000000, m
                    print(m.name, hashlib.sha256(t.extractfile(m).read()).hexdigest())
            """
        let read = try run("/usr/bin/python3", ["-c", script, path])
        let expected = try Self.files.map { "\(Self.folder)/\($0.name) \(try sha256Hex($0.bytes))" }.joined(separator: "\n") + "\n"
        #expect(read == expected)
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) \(arguments)")
        return String(decoding: output, as: UTF8.self)
    }

    private func sha256Hex(_ bytes: [UInt8]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let (input, output) = (Pipe(), Pipe())
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }
}
