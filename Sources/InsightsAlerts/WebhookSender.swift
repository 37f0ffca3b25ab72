import Crypto
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Signs and POSTs one notification (docs/alerts.md, *Notifications*). URLSession (libcurl on
/// Linux) runs the request on its own threads, never on Swift's cooperative pool; redirects are
/// not followed (a 3xx is a failed attempt: a redirect could lead past the target check).
public struct WebhookSender: Sendable {
    let session: URLSession
    let policy: WebhookTargetPolicy

    public init(policy: WebhookTargetPolicy, timeout: Duration) {
        let c = URLSessionConfiguration.ephemeral
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        c.timeoutIntervalForRequest = seconds
        c.timeoutIntervalForResource = seconds
        c.httpMaximumConnectionsPerHost = 4
        c.connectionProxyDictionary = [:]
        session = URLSession(configuration: c, delegate: NoRedirects(), delegateQueue: nil)
        self.policy = policy
    }

    /// `sha256=<hex HMAC-SHA256 of body with the secret's UTF-8 bytes as the key>`: the
    /// `X-Insights-Signature` header.
    public static func signature(body: [UInt8], secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    public struct Result: Sendable {
        /// The receiver's status, nil if no response came.
        public var status: Int?
        public var error: String?
        public var durationMs: Int
        /// The target is refused (scheme, address): retrying cannot help.
        public var forbidden: Bool
        public var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    /// One attempt. Never throws: what went wrong is in the result.
    public func send(url text: String, body: [UInt8], secret: String, deliveryID: String) async -> Result {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Int { Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000) }
        let host: String
        do throws(WebhookTargetError) {
            host = try policy.checkURL(text).host
        } catch {
            return Result(status: nil, error: "target refused: \(error.message)", durationMs: elapsed(), forbidden: true)
        }
        // The host's addresses as resolved now (blocking getaddrinfo, on a Dispatch thread).
        let policy = self.policy
        let refusal: String? = await withCheckedContinuation { done in
            DispatchQueue.global().async {
                do throws(WebhookTargetError) {
                    try policy.checkResolved(host: host)
                    done.resume(returning: nil)
                } catch {
                    done.resume(returning: error.message)
                }
            }
        }
        if let refusal { return Result(status: nil, error: "target refused: \(refusal)", durationMs: elapsed(), forbidden: true) }
        guard let url = URL(string: text) else {
            return Result(status: nil, error: "target refused: not a URL", durationMs: elapsed(), forbidden: true)
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("insights-alerts/1", forHTTPHeaderField: "User-Agent")
        request.setValue(Self.signature(body: body, secret: secret), forHTTPHeaderField: "X-Insights-Signature")
        request.setValue(deliveryID, forHTTPHeaderField: "X-Insights-Delivery")
        do {
            let (_, response) = try await session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode
            let ok = status.map { (200..<300).contains($0) } ?? false
            return Result(status: status, error: ok ? nil : "the receiver answered \(status.map(String.init) ?? "no status")",
                          durationMs: elapsed(), forbidden: false)
        } catch {
            let message = (error as NSError).localizedDescription
            return Result(status: nil, error: String(message.prefix(300)), durationMs: elapsed(), forbidden: false)
        }
    }
}

/// Refuses every redirect: the 3xx itself is the answer.
final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}
