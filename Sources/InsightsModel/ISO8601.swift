/// Hand-written ISO-8601 timestamp parsing and formatting in Unix epoch
/// milliseconds (UTC). No `DateFormatter`: it is slow and locale-dependent.
public enum ISO8601 {
    /// Parses a timestamp to milliseconds since 1970-01-01T00:00:00Z.
    ///
    /// Accepted forms (`T` may also be a space):
    /// - `YYYY-MM-DD` — midnight UTC;
    /// - `YYYY-MM-DDTHH:MM:SS`, optionally followed by `.` and 1–9 fraction
    ///   digits (truncated to milliseconds), optionally followed by a zone:
    ///   `Z`, `z`, `+hh:mm`, `-hh:mm`, `+hhmm` or `-hhmm`.
    ///
    /// A missing zone means UTC (Python's `datetime.utcnow().isoformat()`).
    /// Out-of-range fields (month 13, February 30, hour 24, second 60, zone
    /// offset above 23:59) are rejected.
    ///
    /// - Returns: the epoch milliseconds, or `nil` if the text is not valid.
    public static func parse(_ text: String) -> Int64? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ parse(utf8: $0) }) {
            return result
        }
        return Array(text.utf8).withUnsafeBufferPointer { parse(utf8: $0) }
    }

    /// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always
    /// with milliseconds). Years outside 0000–9999 are written with as many
    /// digits as needed (and a leading `-` if negative); ``parse(_:)`` only
    /// reads back four-digit years.
    public static func format(ms: Int64) -> String {
        let days = floorDiv(ms, 86_400_000)
        // Wrapping arithmetic: days * 86_400_000 can leave Int64 for ms near
        // Int64.min, but the difference is always in 0..<86_400_000.
        let msOfDay = Int(ms &- days &* 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        if year < 0 || year > 9999 {
            if year < 0 { out.append(UInt8(ascii: "-")) }
            let digits = String(year.magnitude)
            var width = digits.utf8.count
            while width < 4 {
                out.append(UInt8(ascii: "0"))
                width += 1
            }
            out.append(contentsOf: digits.utf8)
        } else {
            appendDigits(Int(year), count: 4, to: &out)
        }
        out.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(msOfDay / 3_600_000, count: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(msOfDay / 60_000 % 60, count: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(msOfDay / 1000 % 60, count: 2, to: &out)
        out.append(UInt8(ascii: "."))
        appendDigits(msOfDay % 1000, count: 3, to: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    /// `days_from_civil`). The date is not range-checked.
    public static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day number since 1970-01-01
    /// (H. Hinnant's `civil_from_days`).
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Whether `year` is a Gregorian leap year.
    public static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// The number of days in `month` (1–12) of `year`.
    public static func daysInMonth(year: Int64, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // MARK: - Internals

    static func parse(utf8 s: UnsafeBufferPointer<UInt8>) -> Int64? {
        let n = s.count
        guard n >= 10,
            let year = digits(s, 0, 4), s[4] == UInt8(ascii: "-"),
            let month = digits(s, 5, 2), s[7] == UInt8(ascii: "-"),
            let day = digits(s, 8, 2),
            (1...12).contains(month),
            day >= 1, day <= daysInMonth(year: Int64(year), month: month)
        else { return nil }
        let dayNumber = days(year: Int64(year), month: month, day: day)
        if n == 10 { return dayNumber * 86_400_000 }

        guard n >= 19, s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: " "),
            let hour = digits(s, 11, 2), s[13] == UInt8(ascii: ":"),
            let minute = digits(s, 14, 2), s[16] == UInt8(ascii: ":"),
            let second = digits(s, 17, 2),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var i = 19
        var millis = 0
        if i < n, s[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < n, let digit = digitValue(s[i]) {
                if i - start < 3 { millis = millis * 10 + digit }
                i += 1
            }
            let fractionDigits = i - start
            guard (1...9).contains(fractionDigits) else { return nil }
            var scale = fractionDigits
            while scale < 3 {
                millis *= 10
                scale += 1
            }
        }

        var offsetSeconds = 0
        if i < n {
            switch s[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                i += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
                guard let hh = digits(s, i + 1, 2) else { return nil }
                var j = i + 3
                if j < n, s[j] == UInt8(ascii: ":") { j += 1 }
                guard let mm = digits(s, j, 2), hh <= 23, mm <= 59 else { return nil }
                offsetSeconds = sign * (hh * 3600 + mm * 60)
                i = j + 2
            default:
                return nil
            }
            guard i == n else { return nil }
        }

        let secondOfDay = Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return (dayNumber * 86_400 + secondOfDay) * 1000 + Int64(millis)
    }

    /// The value of `count` ASCII digits at `start`, or `nil`.
    @inline(__always)
    private static func digits(_ s: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start >= 0, start + count <= s.count else { return nil }
        var value = 0
        for k in start..<(start + count) {
            guard let digit = digitValue(s[k]) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    @inline(__always)
    private static func digitValue(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte &- UInt8(ascii: "0")) : nil
    }

    private static func appendDigits(_ value: Int, count: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
