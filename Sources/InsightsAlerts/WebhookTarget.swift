import Foundation

/// Which webhook URLs may be called (docs/alerts.md, *Webhook targets*): only `http` and `https`
/// and, unless the operator allows it (`--webhook-allow-private`), no address that is loopback,
/// private, link-local (cloud metadata services live there), carrier-grade NAT, multicast,
/// unspecified or reserved. A host name is resolved when a notification is sent and refused if
/// any address it resolves to is forbidden; at rule creation only literal addresses and
/// `localhost` can be judged.
public struct WebhookTargetPolicy: Sendable, Equatable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool = false) { self.allowPrivate = allowPrivate }

    /// The URL's scheme and host if it may be a target as far as its text says; else why not.
    public func checkURL(_ text: String) throws(WebhookTargetError) -> (scheme: String, host: String) {
        guard let c = URLComponents(string: text), let scheme = c.scheme?.lowercased() else {
            throw WebhookTargetError("is not a URL")
        }
        guard scheme == "http" || scheme == "https" else { throw WebhookTargetError("must be an http or https URL (got \(scheme):)") }
        guard let rawHost = c.host, !rawHost.isEmpty else { throw WebhookTargetError("has no host") }
        guard c.user == nil, c.password == nil else { throw WebhookTargetError("must not carry a user name or password (sign with the rule's secret instead)") }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        if !allowPrivate {
            let lower = host.lowercased()
            if lower == "localhost" || lower.hasSuffix(".localhost") {
                throw WebhookTargetError("points at loopback (localhost); allowed only with --webhook-allow-private")
            }
            if let address = IPAddress(host), let why = address.forbiddenReason {
                throw WebhookTargetError("points at a \(why) address (\(host)); allowed only with --webhook-allow-private")
            }
        }
        return (scheme, host)
    }

    /// Checks `host`'s addresses as resolved now (blocking `getaddrinfo`: call off the cooperative pool).
    public func checkResolved(host: String) throws(WebhookTargetError) {
        if allowPrivate { return }
        let addresses = IPAddress.resolve(host)
        guard !addresses.isEmpty else { throw WebhookTargetError("the host \(host) does not resolve") }
        for a in addresses {
            if let why = a.forbiddenReason {
                throw WebhookTargetError("the host \(host) resolves to a \(why) address (\(a)); allowed only with --webhook-allow-private")
            }
        }
    }
}

public struct WebhookTargetError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An IPv4 or IPv6 address, parsed from text or from `getaddrinfo`.
public enum IPAddress: Sendable, Equatable, CustomStringConvertible {
    case v4(UInt32)
    case v6([UInt8])

    public init?(_ text: String) {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): return "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)"
        case .v6(var b):
            var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = b.withUnsafeMutableBytes { inet_ntop(AF_INET6, $0.baseAddress, &out, socklen_t(out.count)) }
            return String(cString: out)
        }
    }

    /// Why a webhook may not call this address by default, nil if it may.
    public var forbiddenReason: String? {
        switch self {
        case .v4(let a):
            func within(_ net: UInt32, _ bits: UInt32) -> Bool { bits == 0 || a >> (32 - bits) == net >> (32 - bits) }
            if within(0x7F00_0000, 8) { return "loopback" }
            if within(0x0A00_0000, 8) || within(0xAC10_0000, 12) || within(0xC0A8_0000, 16) { return "private" }
            if within(0xA9FE_0000, 16) { return "link-local (metadata)" }
            if within(0x6440_0000, 10) { return "carrier-grade NAT" }
            if within(0x0000_0000, 8) { return "unspecified" }
            if within(0xE000_0000, 4) { return "multicast" }
            if within(0xF000_0000, 4) { return "reserved" }
            if within(0xC000_0000, 24) || within(0xC612_0000, 15) { return "reserved" }  // 192.0.0/24, 198.18/15 benchmarking
            return nil
        case .v6(let b):
            if b.allSatisfy({ $0 == 0 }) { return "unspecified" }
            if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return "loopback" }
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {  // ::ffff:a.b.c.d
                return IPAddress.v4(UInt32(b[12]) << 24 | UInt32(b[13]) << 16 | UInt32(b[14]) << 8 | UInt32(b[15])).forbiddenReason
            }
            if b[0] & 0xFE == 0xFC { return "private" }  // fc00::/7 (unique local, fd00:ec2::254 metadata)
            if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "link-local" }  // fe80::/10
            if b[0] == 0xFF { return "multicast" }
            if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return "reserved" }  // 2001:db8::/32 documentation
            return nil
        }
    }

    /// Every address `host` resolves to (empty if it does not). Blocks.
    public static func resolve(_ host: String) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var out: [IPAddress] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let info = p {
            if info.pointee.ai_family == AF_INET, let sa = info.pointee.ai_addr {
                let sin = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee }
                out.append(.v4(UInt32(bigEndian: sin.sin_addr.s_addr)))
            } else if info.pointee.ai_family == AF_INET6, let sa = info.pointee.ai_addr {
                var sin6 = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee }
                out.append(.v6(withUnsafeBytes(of: &sin6.sin6_addr) { Array($0) }))
            }
            p = info.pointee.ai_next
        }
        return out
    }
}
