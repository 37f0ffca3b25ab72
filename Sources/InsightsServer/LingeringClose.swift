import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Early answers on HTTP/1: `Expect: 100-continue`, and a *lingering close* after a response that
/// was sent before the request's body was read in full (413 for a body over the limit).
///
/// Why: a client that sends its whole body before reading (Python's `http.client`, `urllib`,
/// `requests`: most chat platforms) is still writing when the 413 comes. Closing then would make the
/// kernel answer its writes with a reset: it sees `BrokenPipeError` and never reads the 413 or its
/// JSON. So, as nginx does, after such a response the handler keeps reading and discarding the rest
/// of the body (the parts never reach the application: nothing is buffered). When the request's end
/// arrives the connection carries on as usual (keep-alive: the framing is intact); when
/// ``lingerTimeout`` or ``lingerBytes`` is reached first it is closed, so a client cannot hold the
/// connection or make the server read without bound. The response says `Connection: close` when the
/// close is certain: the declared length is over ``lingerBytes``, or the client asked for
/// `100 Continue` and did not get it (it may never send the body).
///
/// `Expect: 100-continue` (curl sends it for large bodies and then waits a second for an answer): a
/// request whose declared `Content-Length` is within ``maxBodyBytes`` gets `100 Continue` at once; one
/// over it gets no interim answer, so the route's 413 comes before the client sends the body.
///
/// Runs on the channel's event loop only (NIO handlers are not `Sendable`).
final class LingeringCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Bodies up to this size may follow a `100 Continue` (the ingest route's limit).
    let maxBodyBytes: Int
    /// After an early response: the longest time the rest of the body is read and discarded.
    let lingerTimeout: Duration
    /// After an early response: the most body bytes read and discarded before the connection is closed.
    let lingerBytes: Int

    /// A request head was read and its end not yet.
    private var readingBody = false
    /// The current request's declared length and whether it asked for (and did not get) `100 Continue`.
    private var declared: Int?
    private var continueWithheld = false
    /// The response being written started before the request's end was read.
    private var earlyResponse = false
    /// That response said `Connection: close`: close once it is written and the body discarded.
    private var closeAfter = false
    /// Discarding the rest of a body whose response was written.
    private var lingering = false
    private var discarded = 0
    private var timer: Scheduled<Void>?
    /// Closed by this handler: whatever is still read is dropped.
    private var closing = false

    init(maxBodyBytes: Int, lingerTimeout: Duration = .seconds(5), lingerBytes: Int = 256 << 20) {
        self.maxBodyBytes = maxBodyBytes
        self.lingerTimeout = lingerTimeout
        self.lingerBytes = lingerBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if closing { return }
        if lingering {
            switch part {
            case .body(let buffer):
                discarded += buffer.readableBytes
                if discarded > lingerBytes { close(context) }
                return
            case .end:
                // Every byte the client sent was read: it sees the answer, and the connection goes on
                // (the application, which was draining the body, gets the end) or closes as announced.
                stopLingering()
                readingBody = false
                if closeAfter { close(context); return }
            case .head:
                close(context)  // cannot happen: a request's end comes before the next head
                return
            }
            context.fireChannelRead(data)
            return
        }
        switch part {
        case .head(let head):
            readingBody = true
            discarded = 0
            declared = head.headerFields[.contentLength].flatMap { Int($0) }
            continueWithheld = false
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                if declared.map({ $0 <= maxBodyBytes }) ?? true {
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
                } else {
                    continueWithheld = true
                }
            }
        case .body:
            break
        case .end:
            readingBody = false
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if lingering {
            context.read()  // keep the discarded body flowing: the application does not ask for it
        } else {
            context.fireChannelReadComplete()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.kind != .informational && readingBody:
            earlyResponse = true
            closeAfter = continueWithheld || (declared ?? 0) > lingerBytes
            if closeAfter { head.headerFields[.connection] = "close" }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where earlyResponse:
            earlyResponse = false
            context.writeAndFlush(data, promise: promise)
            if readingBody {
                startLingering(context)
            } else if closeAfter {
                close(context)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func startLingering(_ context: ChannelHandlerContext) {
        lingering = true
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: TimeAmount(lingerTimeout)) { [self] in
            self.timer = nil
            self.close(context)
        }
        context.read()
    }

    private func stopLingering() {
        lingering = false
        timer?.cancel()
        timer = nil
    }

    private func close(_ context: ChannelHandlerContext) {
        stopLingering()
        closing = true
        if context.channel.isActive { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension LingeringCloseHandler: Sendable {}
