import Hummingbird
import InsightsModel

/// `GET /openapi.json`: the OpenAPI document of every route (``OpenAPIDocument``).
struct OpenAPIController<Context: RequestContext>: Sendable {
    func addRoutes(to router: Router<Context>) {
        let body = ByteBuffer(string: OpenAPIDocument.json)
        router.get("openapi.json") { _, _ in
            var h = HTTPFields()
            h[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: h, body: ResponseBody(byteBuffer: body))
        }
        router.add(middleware: MethodNotAllowedMiddleware<Context>(document: OpenAPIDocument.routes))
    }
}

/// The paths and methods of ``OpenAPIDocument``: `{name}` segments match any one segment. The
/// route table of both the 405 answers and the API keys (each operation's `x-insights-access`).
struct DocumentedRoutes: Sendable {
    struct Route: Sendable {
        /// nil: a `{parameter}` segment.
        var segments: [String?]
        var methods: [String]
        /// Method → the operation's `x-insights-access` (`open`, `any-key`, `read`, `ingest`, `admin`).
        var access: [String: String]
    }

    var routes: [Route]

    init(json: String) {
        var routes: [Route] = []
        if case .object(let doc)? = try? JSONValue.parse(json), case .object(let paths)? = doc["paths"] {
            for (path, item) in paths {
                guard case .object(let ops) = item else { continue }
                let operations = ops.keys.filter { ["get", "put", "post", "delete", "patch"].contains($0) }
                var access: [String: String] = [:]
                for op in operations {
                    if case .object(let o)? = ops[op], case .string(let a)? = o["x-insights-access"] { access[op.uppercased()] = a }
                }
                let segments = path.split(separator: "/").map { s -> String? in s.hasPrefix("{") && s.hasSuffix("}") ? nil : String(s) }
                routes.append(Route(segments: segments, methods: operations.map { $0.uppercased() }.sorted(), access: access))
            }
        }
        self.routes = routes
    }

    /// The documented methods of a concrete path (empty: no such path).
    func methods(path: String) -> [String] {
        var found: Set<String> = []
        for r in matching(path) { found.formUnion(r.methods) }
        return found.sorted()
    }

    /// The `x-insights-access` of a concrete path and method (nil: not documented).
    func access(method: String, path: String) -> String? {
        matching(path).lazy.compactMap { $0.access[method] }.first
    }

    private func matching(_ path: String) -> [Route] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return routes.filter { r in
            r.segments.count == parts.count && zip(r.segments, parts).allSatisfy { $0.0 == nil || $0.0! == $0.1 }
        }
    }
}

extension OpenAPIDocument {
    static let routes = DocumentedRoutes(json: json)
}

/// The router answers 404 for a known path with an undeclared method; this turns that into
/// 405 with `Allow` (RFC 9110), using the OpenAPI document as the route table. (Routing happens
/// before middleware, so HEAD cannot be turned into GET here: it is a 405 too.)
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let document: DocumentedRoutes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as any HTTPResponseError where e.status == .notFound {
            let allowed = document.methods(path: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { throw e }
            var h = HTTPFields()
            h[.allow] = allowed.joined(separator: ", ")
            throw APIError(.methodNotAllowed, "method not allowed",
                           detail: "\(request.uri.path) allows \(allowed.joined(separator: ", ")), not \(request.method)", headers: h)
        }
    }
}
