package expr

import "testing"

func TestFormatDateTime(t *testing.T) {
	runCases(t, []evalCase{
		{`FormatDateTime("20150123105347.1Z", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`, ``, `"2015-01-23"`, ``},
		{`FormatDateTime("20150123105347.1Z", , "yyyyMMddHHmmss.fZ", "dddd, MMMM d, yyyy h:mm:ss.fff tt")`, ``, `"Friday, January 23, 2015 10:53:47.100 AM"`, ``},
		{`FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd")`, ``, `"2020-12-31"`, ``}, // WD; UTC date is the same
		{`FormatDateTime("2020-12-31+08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd HH:mm K")`, ``, `"2020-12-30 16:00 Z"`, ``},
		{`FormatDateTime("12/31/2020 07:05:09 PM", , "M/d/yyyy hh:mm:ss tt", "yyyyMMddHHmmss")`, ``, `"20201231190509"`, ``},
		{`FormatDateTime("1/2/2020 12:00:00 AM", , "M/d/yyyy h:mm:ss tt", "HH:mm")`, ``, `"00:00"`, ``},
		{`FormatDateTime("2020-01-02T03:04:05Z", , "yyyy-MM-ddTHH:mm:ssK", "d MMM yy 'at' h\\h")`, ``, `"2 Jan 20 at 3h"`, ``},
		{`FormatDateTime(" 2020-01-02 ", , "yyyy-MM-dd", "yyyy-MM-ddTHH:mm:ss.FFFzzz")`, ``, `"2020-01-02T00:00:00+00:00"`, ``},
		{`FormatDateTime([x], , "yyyy", "yyyy")`, ``, `null`, ``},
		{`FormatDateTime("2020-02-30", , "yyyy-MM-dd", "yyyy")`, ``, ``, `day 30 is not in month 2`},
		{`FormatDateTime("2020-13-01", , "yyyy-MM-dd", "yyyy")`, ``, ``, `out of range`},
		{`FormatDateTime("2020-01-01x", , "yyyy-MM-dd", "yyyy")`, ``, ``, `unexpected "x" at the end`},
		{`FormatDateTime("20-01-01", , "yyyy-MM-dd", "yyyy")`, ``, ``, `expected 4 digits`},
		// A format without a date takes today's (fixedNow), one without a
		// year this year, as .NET's ParseExact does.
		{`FormatDateTime("10:30", , "HH:mm", "yyyy-MM-dd HH:mm")`, ``, `"2026-01-02 10:30"`, ``},
		{`FormatDateTime("10:30", "NoCurrentDateDefault", "HH:mm", "yyyy-MM-dd HH:mm")`, ``, `"0001-01-01 10:30"`, ``},
		{`FormatDateTime("03-15", , "MM-dd", "yyyy-MM-dd")`, ``, `"2026-03-15"`, ``},
		{`FormatDateTime("2019", , "yyyy", "yyyy-MM-dd")`, ``, `"2019-01-01"`, ``},
		// dateTimeStyles: white space as asked, time-zone styles checked.
		{`FormatDateTime(" 2020 ", "None", "yyyy", "yyyy")`, ``, ``, `expected 4 digits`},
		{`FormatDateTime("2020 ", "AllowLeadingWhite", "yyyy", "yyyy")`, ``, ``, `unexpected " " at the end`},
		{`FormatDateTime(" 2020", "AllowLeadingWhite", "yyyy", "yyyy")`, ``, `"2020"`, ``},
		{`FormatDateTime(" 2020  01 ", "AllowWhiteSpaces", "yyyy MM", "yyyy-MM")`, ``, `"2020-01"`, ``},
		{`FormatDateTime("2020  01", "AllowLeadingWhite, AllowTrailingWhite", "yyyy MM", "yyyy-MM")`, ``, ``, `expected 2 digits`},
		{`FormatDateTime("2020+02:00", "AdjustToUniversal, AssumeUniversal", "yyyyzzz", "yyyy-MM-dd HH:mm")`, ``, `"2019-12-31 22:00"`, ``},
		{`FormatDateTime(" 2020", "DateTimeStyles.AdjustToUniversal|DateTimeStyles.AllowWhiteSpaces", "yyyy", "yyyy")`, ``, `"2020"`, ``},
		{`FormatDateTime(" 2020", 3, "yyyy", "yyyy")`, ``, `"2020"`, ``},
		{`FormatDateTime("2020", 256, "yyyy", "yyyy")`, ``, ``, `dateTimeStyles: 256 is not a combination`},
		{`FormatDateTime("2020", "RoundtripKind, AssumeLocal", "yyyy", "yyyy")`, ``, ``, `RoundtripKind excludes`},
		{`FormatDateTime("2020", "AssumeLocal|AssumeUniversal", "yyyy", "yyyy")`, ``, ``, `exclude each other`},
		{`FormatDateTime("2020", "Bogus", "yyyy", "yyyy")`, ``, ``, `unknown style "Bogus"`},
		{`FormatDateTime("2020", , "'yyyy", "yyyy")`, ``, ``, `unterminated quoted literal`},
	})
}
