import Foundation
import Hummingbird
import InsightsTracker

/// Where the dashboard's files are: the `web/` directory (index.html, util.js, charts.js, alerts.js, depth.js, paths.js, breakdown.js, app.js, style.css) and
/// Chart.js (Debian's `libjs-chart.js`).
public struct DashboardFiles: Sendable {
    /// The web directory, nil when none of the candidates has an `index.html`.
    public var webDirectory: String?
    /// Chart.js (UMD build, global `Chart`).
    public var chartJS: String

    public static let defaultChartJS = "/usr/share/javascript/chart.js/chart.min.js"

    public init(webDirectory: String?, chartJS: String = DashboardFiles.defaultChartJS) {
        self.webDirectory = webDirectory
        self.chartJS = chartJS
    }

    /// Web directory: the first holding an `index.html` (``ResourceLocator``: `INSIGHTS_WEB_DIR` when
    /// set, and then only it; `./web`; the source tree's `web/`; `/usr/share/insights/web`).
    /// Chart.js: `INSIGHTS_CHARTJS`, else Debian's path.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> DashboardFiles {
        let web = ResourceLocator.directory("web", environmentVariable: "INSIGHTS_WEB_DIR", marker: "index.html", environment: environment)
        let chart = environment["INSIGHTS_CHARTJS"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultChartJS
        return DashboardFiles(webDirectory: web, chartJS: chart)
    }
}

/// The dashboard page: `GET /` (index.html), `GET /assets/<file>` (only the files named in
/// `assets`: no path from the request ever reaches the file system) and `GET /vendor/chart.min.js`.
/// Files are read per request through NIO's file system (non-blocking), so a missing file is a JSON
/// 404 and never stops the API.
struct DashboardController<Context: RequestContext>: Sendable {
    let files: DashboardFiles
    let fileIO = FileIO()

    /// Asset name → Content-Type. The allow-list.
    static var assets: [String: String] {
        [
            "app.js": "text/javascript; charset=utf-8", "charts.js": "text/javascript; charset=utf-8",
            "util.js": "text/javascript; charset=utf-8", "alerts.js": "text/javascript; charset=utf-8",
            "depth.js": "text/javascript; charset=utf-8", "paths.js": "text/javascript; charset=utf-8",
            "breakdown.js": "text/javascript; charset=utf-8",
            "style.css": "text/css; charset=utf-8",
        ]
    }

    func addRoutes(to router: Router<Context>) {
        router.get("/") { _, context in
            try await serve(webFile: "index.html", contentType: "text/html; charset=utf-8", context: context)
        }
        router.get("assets/{file}") { _, context in
            let name = context.parameters.get("file") ?? ""
            guard let type = Self.assets[name] else {
                throw APIError(.notFound, "not found", detail: "no dashboard asset named \(name)")
            }
            return try await serve(webFile: name, contentType: type, context: context)
        }
        router.get("vendor/chart.min.js") { _, context in
            try await serve(path: files.chartJS, contentType: "text/javascript; charset=utf-8", context: context,
                            missing: "Chart.js not found at \(files.chartJS) (install Debian's libjs-chart.js or set INSIGHTS_CHARTJS)")
        }
    }

    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    }

    func serve(webFile: String, contentType: String, context: Context) async throws -> Response {
        guard let dir = files.webDirectory else {
            throw APIError(.notFound, "dashboard not installed",
                           detail: "no web directory with index.html found (set INSIGHTS_WEB_DIR); the API under /api/v1 works without it")
        }
        return try await serve(path: dir + "/" + webFile, contentType: contentType, context: context,
                               missing: "\(webFile) is missing from \(dir)")
    }

    func serve(path: String, contentType: String, context: Context, missing: String) async throws -> Response {
        let body: ResponseBody
        do {
            body = try await fileIO.loadFile(path: path, context: context)
        } catch {
            throw APIError(.notFound, "dashboard file not found", detail: missing)
        }
        var headers = HTTPFields()
        headers[.contentType] = contentType
        // Short cache: a redeployed page is picked up within a minute; no-cache for the page itself.
        headers[.cacheControl] = contentType.hasPrefix("text/html") ? "no-cache" : "public, max-age=60"
        headers[.xContentTypeOptions] = "nosniff"
        if contentType.hasPrefix("text/html") {
            // Everything the page loads comes from this front (no CDN); no inline script.
            headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
