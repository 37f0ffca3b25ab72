import InsightsModel
import Testing

// Expected values are epoch milliseconds computed by hand (days since
// 1970-01-01 × 86_400_000 + time of day) and cross-checked with Python's
// datetime. E.g. 2026-11-24: 56 years with 14 leap days = 20_454 days, plus
// 327 days into 2026 = 20_781 days; 17:31:55 = 63_115 s.
@Suite struct ISO8601Tests {
    @Test(arguments: [
        ("2026-11-24T17:31:55.123Z", Int64(1_795_541_515_123)),
        ("2026-11-24T17:31:55Z", 1_795_541_515_000),
        ("2026-11-24T17:31:55", 1_795_541_515_000),  // no zone = UTC
        ("2026-11-24T17:31:55.123456", 1_795_541_515_123),  // Python utcnow().isoformat()
        ("2026-11-24T17:31:55.123456789Z", 1_795_541_515_123),  // 9 digits, truncated
        ("2026-11-24T17:31:55.1Z", 1_795_541_515_100),
        ("2026-11-24T17:31:55.12z", 1_795_541_515_120),
        ("2026-11-24T17:31:55.999999", 1_795_541_515_999),  // truncated, not rounded
        ("2026-11-24 17:31:55.123", 1_795_541_515_123),  // space separator
        ("2026-11-24T23:01:55.123+05:30", 1_795_541_515_123),
        ("2026-11-24T09:31:55.123-0800", 1_795_541_515_123),
        ("2026-11-24T17:31:55+00:00", 1_795_541_515_000),
        ("2026-11-25T01:31:55-00:00", 1_795_570_315_000),
        ("2026-11-24", 1_795_478_400_000),  // bare date = midnight UTC
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01", 0),
        ("1999-12-31T23:59:59.999Z", 946_684_799_999),
        ("2000-01-01", 946_684_800_000),
        ("2000-02-29", 951_782_400_000),  // 2000 is a leap year (divisible by 400)
        ("2000-03-01", 951_868_800_000),
        ("2024-02-29", 1_709_164_800_000),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2100-03-01", 4_107_542_400_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999),
        ("0001-01-01", -62_135_596_800_000),
    ])
    func parsesValidTimestamps(text: String, expected: Int64) {
        #expect(ISO8601.parse(text) == expected)
    }

    @Test(arguments: [
        "", "2026", "2026-11", "2026-1-24", "2026/11/24", "26-11-24",
        "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-31", "2026-02-30",
        "2023-02-29",  // not a leap year
        "2100-02-29",  // century, not a leap year
        "2026-11-24T24:00:00Z", "2026-11-24T23:60:00Z", "2026-11-24T23:59:60Z",
        "2026-11-24T17:31", "2026-11-24T17:31:5", "2026-11-24X17:31:55",
        "2026-11-24T17:31:55.", "2026-11-24T17:31:55.1234567890",  // 0 or 10 fraction digits
        "2026-11-24T17:31:55.12a", "2026-11-24T17:31:55Zjunk", "2026-11-24T17:31:55 ",
        "2026-11-24T17:31:55+05", "2026-11-24T17:31:55+5:30", "2026-11-24T17:31:55+24:00",
        "2026-11-24T17:31:55+05:60", "2026-11-24T17:31:55+05:30:00", "2026-11-24T17:31:55UTC",
        "2026-11-24t17:31:55", " 2026-11-24", "2026-11-24 ", "２０２６-11-24",
    ])
    func rejectsInvalidTimestamps(text: String) {
        #expect(ISO8601.parse(text) == nil, "\(text)")
    }

    @Test(arguments: [
        (Int64(1_795_541_515_123), "2026-11-24T17:31:55.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
        (946_684_799_999, "1999-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (1_795_541_515_005, "2026-11-24T17:31:55.005Z"),
    ])
    func formatsMilliseconds(ms: Int64, expected: String) {
        #expect(ISO8601.format(ms: ms) == expected)
    }

    @Test func formatHandlesExtremeValuesWithoutTrapping() {
        #expect(ISO8601.format(ms: .max) == "292278994-08-17T07:12:55.807Z")
        #expect(ISO8601.format(ms: .min) == "-292275055-05-16T16:47:04.192Z")
        #expect(ISO8601.format(ms: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
    }

    @Test func formatAndParseRoundTripOverManyDays() {
        // Every 7 hours 13 minutes 1.777 s from 1960 to 2100: format then parse.
        var ms: Int64 = -315_619_200_000
        var checked = 0
        while ms < 4_102_444_800_000 {
            #expect(ISO8601.parse(ISO8601.format(ms: ms)) == ms)
            ms += 25_981_777
            checked += 1
        }
        #expect(checked > 150_000)
    }

    @Test func civilArithmeticMatchesKnownDates() {
        #expect(ISO8601.days(year: 1970, month: 1, day: 1) == 0)
        #expect(ISO8601.days(year: 2024, month: 2, day: 29) == 19_782)
        #expect(ISO8601.days(year: 1969, month: 12, day: 31) == -1)
        #expect(ISO8601.civil(fromDays: 19_782) == (2024, 2, 29))
        #expect(ISO8601.civil(fromDays: -1) == (1969, 12, 31))
        #expect(ISO8601.isLeapYear(2000) && ISO8601.isLeapYear(2024))
        #expect(!ISO8601.isLeapYear(1900) && !ISO8601.isLeapYear(2023))
        #expect(ISO8601.daysInMonth(year: 2023, month: 2) == 28)
        #expect(ISO8601.daysInMonth(year: 2024, month: 2) == 29)
        #expect(ISO8601.daysInMonth(year: 2024, month: 4) == 30)
    }
}
