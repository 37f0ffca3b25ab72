#if canImport(Glibc)
import Glibc
#endif

/// Free loopback ports for redis-servers this machine starts itself (`insights run --cluster`, the
/// tests' private clusters). A cluster node also listens on its port + 10000 (the cluster bus).
public enum LoopbackPorts {
    /// Whether 127.0.0.1:`port` can be bound now.
    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// `n` ports in `range` (tried from a random place) that are free and whose cluster bus port is
    /// free too; `accept` may veto a port (e.g. one already handed out in this process). Keep the
    /// range's bus ports below the kernel's ephemeral ports (32768 and up by default): an outgoing
    /// connection could take one between this check and the node's bind.
    public static func forCluster(_ n: Int, in range: ClosedRange<Int> = 12000...22000, accept: (Int) -> Bool = { _ in true }) -> [Int]? {
        var ports: [Int] = []
        var candidate = Int.random(in: range)
        for _ in 0..<range.count where ports.count < n {
            candidate = candidate >= range.upperBound ? range.lowerBound : candidate + 1
            if isFree(candidate), isFree(candidate + 10000), accept(candidate) { ports.append(candidate) }
        }
        return ports.count == n ? ports : nil
    }
}
