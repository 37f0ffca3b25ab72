/// Secure by default: without API keys the service answers anyone who can connect, so it may
/// listen only on a loopback address unless the operator says `--insecure`.
public enum BindPolicy {
    public enum Decision: Sendable, Equatable {
        /// Keys are configured: any address.
        case authenticated
        /// No keys, loopback address.
        case loopbackWithoutKeys
        /// No keys, another address, `--insecure` given: allowed, with a warning.
        case insecure(warning: String)
        /// No keys, another address: refuse to start.
        case refused(message: String)
    }

    /// 127.0.0.0/8, ::1 (also bracketed or written in full) and `localhost`.
    public static func isLoopback(_ host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        var octets: [Int] = []
        for p in parts {
            guard (1...3).contains(p.count), p.allSatisfy(\.isASCII), p.allSatisfy(\.isNumber), let v = Int(p), v <= 255 else { return false }
            octets.append(v)
        }
        return octets[0] == 127
    }

    public static func decide(host: String, keysConfigured: Bool, insecure: Bool) -> Decision {
        if keysConfigured { return .authenticated }
        if isLoopback(host) { return .loopbackWithoutKeys }
        if insecure {
            return .insecure(warning: "listening on \(host) WITHOUT API keys (--insecure): anyone who can reach this address can read and write every agent's data")
        }
        return .refused(message: """
            refusing to listen on '\(host)' without API keys: anyone who could reach it could read and write every agent's data. \
            Configure keys (INSIGHTS_API_KEYS or --api-keys-file; `insights keys new` makes one), listen on a loopback \
            address (127.0.0.1, ::1, localhost), or pass --insecure if the network is trusted. See docs/security.md.
            """)
    }
}
