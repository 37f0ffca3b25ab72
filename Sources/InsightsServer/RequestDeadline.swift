import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// The request was not received in full within ``ServerConfiguration/requestReadTimeout``
/// (a slow or stalled client): `POST /api/v1/events` answers 408, then the connection is closed.
public struct RequestReadTimeout: Error, Sendable, CustomStringConvertible {
    public var timeout: Duration
    public var description: String { "the request was not received within \(timeout)" }
}

/// A total deadline for receiving each request on an HTTP/1 connection.
///
/// Hummingbird's `idleTimeout` is reset by every byte read, so a body sent one byte a second
/// would hold a connection (and a task) forever. This handler starts a clock when the
/// connection opens and again when a response has been written (the next request may start):
/// the request — head, body and end — must be received within `timeout`. While a request is
/// being answered (after its end was read) no clock runs, so slow queries are not cut.
///
/// On expiry:
/// - no request head read yet (idle keep-alive connection, or headers dribbled in slowly):
///   the connection is closed;
/// - a head was read and its body is still arriving: ``RequestReadTimeout`` is raised into the
///   request's body stream (the events endpoint answers 408 with a JSON error), and the
///   connection is closed once that response is written, or after a 1 s grace at the latest.
///
/// Runs on the channel's event loop only (NIO handlers are not `Sendable`).
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeout: Duration
    let grace: Duration
    private var timer: Scheduled<Void>?
    private var graceTimer: Scheduled<Void>?
    /// A head was read and its end not yet.
    private var readingBody = false
    /// Requests whose head was read and whose response end was not yet written.
    private var inFlight = 0
    private var expired = false

    init(timeout: Duration, grace: Duration = .seconds(1)) {
        self.timeout = timeout
        self.grace = grace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            readingBody = true
            inFlight += 1
            arm(context)  // no-op when the clock already runs (it normally does)
        case .body:
            break
        case .end:
            readingBody = false
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        inFlight = max(0, inFlight - 1)
        if expired {
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
            return
        }
        // The response is done: the next request (or an idle connection) is on the clock.
        if inFlight == 0 { arm(context) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil, !expired else { return }
        let loop = context.eventLoop
        timer = loop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: TimeAmount(timeout)) { [self] in
            self.timer = nil
            self.fire(context)
        }
    }

    private func fire(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        guard readingBody else {
            // Nothing of a request is pending in the application: just close.
            context.close(promise: nil)
            return
        }
        expired = true
        context.fireErrorCaught(RequestReadTimeout(timeout: timeout))
        graceTimer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: TimeAmount(grace)) {
            context.close(promise: nil)
        }
    }

    private func cancelTimers() {
        timer?.cancel()
        timer = nil
        graceTimer?.cancel()
        graceTimer = nil
    }
}

@available(*, unavailable)
extension RequestDeadlineHandler: Sendable {}
