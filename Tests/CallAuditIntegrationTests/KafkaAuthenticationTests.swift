import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// TLS in front of the mock cluster, whose brokers speak only plaintext and
/// advertise their own addresses: a `socat` TLS terminator per broker, and a
/// small `connect()` interposer (LD_PRELOAD, only in the `serve` child) that
/// sends librdkafka's connections for a broker's port to its terminator. The
/// terminators can be swapped for impostors whose certificate the client's CA
/// did not sign, so real librdkafka meets a real TLS handshake failure
/// (`__SSL`, "certificate verify failed"), as during a broker restart with a
/// wrong certificate, and then the real brokers again.
final class TLSFrontedKafka {
    let kafka: TestKafka
    let folder: URL
    /// The mock brokers' ports and the terminators' ports, in the same order.
    let brokerPorts: [Int]
    let proxyPorts: [Int]
    /// The terminators' process ids (started through the shell: see `startTerminators`).
    private var terminators: [Int32] = []

    init(partitions: Int32 = 4) throws {
        kafka = try TestKafka(partitions: partitions)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        brokerPorts = kafka.brokers.split(separator: ",").map { Int($0.split(separator: ":").last!)! }
        proxyPorts = brokerPorts.map { _ in freePort() }
        try makeCertificates()
        try makeInterposer()
    }

    deinit {
        stopTerminators()
        try? FileManager.default.removeItem(at: folder)
    }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// What `serve` needs: TLS with the test CA, and the interposer.
    var serveProperties: [String] {
        ["--kafka-property", "security.protocol=SSL", "--kafka-property", "ssl.ca.location=\(path("ca.pem"))"]
    }

    var serveEnvironment: [String: String] {
        [
            "LD_PRELOAD": path("redirect.so"),
            "CALLAUDIT_TEST_PORT_MAP": zip(brokerPorts, proxyPorts).map { "\($0):\($1)" }.joined(separator: ","),
        ]
    }

    /// Terminators with the brokers' real certificate (`genuine`) or an impostor's.
    func startTerminators(genuine: Bool) throws {
        stopTerminators()
        let (certificate, key) = genuine ? ("broker.pem", "broker.key") : ("impostor.pem", "impostor.key")
        // Through the shell, not Foundation.Process: the connection handlers socat forks inherit
        // the descriptor Process watches for its child's exit, so Process would wait for them.
        for (index, (broker, proxy)) in zip(brokerPorts, proxyPorts).enumerated() {
            let pidFile = path("terminator-\(index).pid")
            let listen = "OPENSSL-LISTEN:\(proxy),bind=127.0.0.1,reuseaddr,fork,cert=\(path(certificate)),key=\(path(key)),verify=0"
            guard system("/usr/bin/socat '\(listen)' TCP:127.0.0.1:\(broker) </dev/null >/dev/null 2>&1 & echo $! > '\(pidFile)'") == 0,
                let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { throw TestFailure("socat did not start") }
            terminators.append(pid)
        }
        // Listening before anyone connects.
        _ = waitUntil(seconds: 5) { proxyPorts.allSatisfy { Self.accepts(port: $0) } }
    }

    /// Ends every terminator and the connection handlers it forked: the client's TLS connections drop.
    func stopTerminators() {
        for pid in terminators {
            kill(pid, SIGSTOP)  // forks no handler while its handlers are ended
            for child in Self.children(of: pid) { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
        }
        terminators = []
        // The listening sockets are closed once the processes are gone.
        _ = waitUntil(seconds: 5) { !proxyPorts.contains { Self.accepts(port: $0) } }
    }

    private func makeCertificates() throws {
        // The name librdkafka checks: brokers advertise 127.0.0.1.
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: path("broker.ext"), atomically: true, encoding: .utf8)
        let commands = [
            "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=callaudit-test-ca -keyout ca.key -out ca.pem",
            "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout broker.key -out broker.csr",
            "openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile broker.ext -out broker.pem",
            // Same name, not signed by the client's CA.
            "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout impostor.key -out impostor.pem",
        ]
        for command in commands {
            guard system("cd '\(folder.path)' && \(command) >/dev/null 2>&1") == 0 else { throw TestFailure("\(command) failed") }
        }
    }

    private func makeInterposer() throws {
        let source = #"""
            #define _GNU_SOURCE
            #include <arpa/inet.h>
            #include <dlfcn.h>
            #include <netinet/in.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <sys/socket.h>

            /* Connections to 127.0.0.1:FROM go to 127.0.0.1:TO, per CALLAUDIT_TEST_PORT_MAP="FROM:TO,...". */
            int connect(int fd, const struct sockaddr *address, socklen_t length) {
                static int (*real)(int, const struct sockaddr *, socklen_t);
                if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
                const char *map = getenv("CALLAUDIT_TEST_PORT_MAP");
                if (map && address && address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
                    struct sockaddr_in copy;
                    memcpy(&copy, address, sizeof copy);
                    int from, to, used;
                    for (const char *p = map; sscanf(p, "%d:%d%n", &from, &to, &used) == 2; p += used + (p[used] == ',')) {
                        if (from == ntohs(copy.sin_port) && copy.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
                            copy.sin_port = htons((unsigned short)to);
                            return real(fd, (const struct sockaddr *)&copy, sizeof copy);
                        }
                        if (!p[used]) break;
                    }
                }
                return real(fd, address, length);
            }
            """#
        try source.write(toFile: path("redirect.c"), atomically: true, encoding: .utf8)
        guard system("cc -shared -fPIC -O1 -o '\(path("redirect.so"))' '\(path("redirect.c"))' -ldl") == 0 else {
            throw TestFailure("compiling the connect() interposer failed")
        }
    }

    private static func accepts(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } == 0
        }
    }

    private static func children(of parent: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }
    }
}

extension DatabaseTests {
@Suite("Kafka authentication and TLS failures")
struct KafkaAuthenticationTests {
    @Test("a TLS outage shorter than --kafka-auth-grace: ingest goes on afterwards, nothing lost; one that outlasts it ends serve non-zero saying what to fix")
    func tlsOutages() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") else {
            Issue.record("socat is missing: ops/lib.sh installs it")
            return
        }
        let database = try TestDatabase.create()
        defer { database.drop() }
        let fronted = try TLSFrontedKafka()
        try fronted.startTerminators(genuine: true)
        let messages = simulatedMessages(calls: 1_500, seed: 31)
        let half = messages.count / 2
        try fronted.kafka.produce(Array(messages[..<half]))
        let grace = 20
        let serve = try ServeProcess(
            kafka: fronted.kafka, database: database,
            extra: fronted.serveProperties + ["--kafka-auth-grace", "\(grace)"],
            environment: fronted.serveEnvironment)
        #expect(try waitUntil(seconds: 90) { try consumed(database) == half }, "ingest through TLS: \(serve.standardError)")

        // A short outage: the brokers come back with a certificate the client's CA did not sign.
        try fronted.startTerminators(genuine: false)
        try fronted.kafka.produce(Array(messages[half...]))
        #expect(
            waitUntil(seconds: 30) { serve.standardError.contains("kafka authentication or TLS failed") },
            "librdkafka reported the TLS failure: \(serve.standardError)")
        #expect(holdsThroughout(seconds: 5) { serve.process.isRunning }, "a TLS failure shorter than the grace is not fatal: \(serve.standardError)")
        try fronted.startTerminators(genuine: true)
        let restored = Date()
        #expect(try waitUntil(seconds: 90) { try consumed(database) == messages.count }, "ingest went on: \(serve.standardError)")
        print("kafka TLS outage: the backlog was stored \(String(format: "%.1f", Date().timeIntervalSince(restored))) s after the brokers' certificate was right again")
        #expect(try database.count("SELECT count(*) FROM events") == messages.count)
        try expectOffsetsConsistent(database)
        #expect(serve.process.isRunning)

        // A long one: past the grace, serve stops and says what to fix.
        try fronted.startTerminators(genuine: false)
        let broken = Date()
        #expect(serve.ended(within: Double(grace) + 60), "serve ended after the grace: \(serve.standardError)")
        let took = Date().timeIntervalSince(broken)
        print("kafka TLS outage past a \(grace) s grace: serve exited after \(String(format: "%.1f", took)) s")
        #expect(serve.status != 0)
        #expect(took >= Double(grace) - 1, "not before the grace")
        let log = serve.standardError
        #expect(log.contains("--kafka-auth-grace") && log.contains("ssl.ca.location"), "the message says what to fix: \(log)")
    }
}
}
