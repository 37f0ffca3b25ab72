import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 webhook receiver on a loopback port, for tests: it records every request it
/// receives and answers the status the test sets (or is stopped, and refuses connections). One
/// request per connection (`Connection: close`), served on its own thread with blocking sockets.
public final class WebhookReceiver: Sendable {
    public struct Received: Sendable, Equatable {
        public var path: String
        public var headers: [String: String]
        public var body: [UInt8]
        public var status: Int
    }

    struct State {
        var listener: Int32 = -1
        var status = 200
        var received: [Received] = []
        var delayMs = 0
    }

    public let port: Int
    let state = Mutex(State())

    /// A receiver on a free loopback port, not listening until ``start()``.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = Self.loopback(0)
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var bound = sockaddr_in(), len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: bound.sin_port))
        close(fd)  // refused until start(): a receiver that is down
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    public var url: String { "http://127.0.0.1:\(port)/hook" }

    /// The status later requests get (e.g. 503 for a receiver that fails).
    public func respond(with status: Int, delayMs: Int = 0) {
        state.withLock { $0.status = status; $0.delayMs = delayMs }
    }

    public var received: [Received] { state.withLock { $0.received } }

    /// Starts listening on ``port``.
    public func start() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port)
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0,
              listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        state.withLock { $0.listener = fd }
        let thread = Thread { [self] in self.serve(fd) }
        thread.start()
    }

    /// Stops listening: later connections are refused.
    public func stop() {
        let fd = state.withLock { s -> Int32 in
            let fd = s.listener
            s.listener = -1
            return fd
        }
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    deinit { stop() }

    func serve(_ listener: Int32) {
        while true {
            let c = accept(listener, nil, nil)
            if c < 0 { return }  // closed by stop()
            Thread { [self] in self.handle(c) }.start()
        }
    }

    func handle(_ c: Int32) {
        defer { close(c) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var headEnd: Int?
        var contentLength = 0
        while true {
            let n = read(c, &buffer, buffer.count)
            if n <= 0 { return }
            data += buffer[0..<n]
            if headEnd == nil, let r = Self.find([13, 10, 13, 10], in: data) {
                headEnd = r + 4
                let head = String(decoding: data[0..<r], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() {
                    if let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-length" {
                        contentLength = Int(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let h = headEnd, data.count >= h + contentLength { break }
        }
        let h = headEnd!
        let lines = String(decoding: data[0..<h - 4], as: UTF8.self).split(separator: "\r\n")
        let path = lines.first.map { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" } ?? ""
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let (status, delay) = state.withLock { ($0.status, $0.delayMs) }
        if delay > 0 { usleep(useconds_t(delay * 1000)) }
        state.withLock { $0.received.append(Received(path: path, headers: headers, body: Array(data[h..<h + contentLength]), status: status)) }
        let response = "HTTP/1.1 \(status) X\r\nContent-Length: 2\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}"
        _ = response.utf8CString.withUnsafeBufferPointer { write(c, $0.baseAddress, $0.count - 1) }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }
}
