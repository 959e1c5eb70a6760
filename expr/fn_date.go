package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Dates travel between functions as strings in Entra's DateTime format,
// M/d/yyyy h:mm:ss tt in UTC (dateLayout), which is what CDate, DateAdd,
// DateFromNum and Now return and what the reference shows; every function
// that takes a date parses it back with parseDate.

func init() {
	register(map[string]builtin{
		"CDate":       fnCDate,
		"DateAdd":     fnDateAdd,
		"DateDiff":    fnDateDiff,
		"DateFromNum": fnDateFromNum,
		"NumFromDate": fnNumFromDate,
	})
}

// dateLayouts are the forms parseDate accepts: ISO 8601 with or without
// time and offset (a date-only value may carry an offset, as in
// "2020-03-16-07:00"), and the US forms Entra prints. A value without an
// offset is taken as UTC. Fractional seconds are accepted after the
// seconds in any form. .NET's DateTime.Parse accepts more (month names,
// other cultures); those are refused with an error.
var dateLayouts = []string{
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05",
	"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02 15:04",
	"2006-01-02Z07:00", "2006-01-02",
	dateLayout, "1/2/2006 15:04:05", "1/2/2006 3:04 PM", "1/2/2006 15:04", "1/2/2006",
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

// date evaluates argument i as a date; ok is false for null.
func (ev *evaluator) date(c *Call, i int, what string) (t time.Time, ok bool, err error) {
	v, err := ev.arg(c, i)
	if err != nil || v.IsNull() {
		return t, false, err
	}
	s, err := single(v, what)
	if err != nil {
		return t, false, err
	}
	t, err = parseDate(s)
	if err != nil {
		return t, false, fmt.Errorf("%s: %w", what, err)
	}
	return t, true, nil
}

func dateValue(t time.Time) Value { return String(t.UTC().Format(dateLayout)) }

// CDate(expression): the date in UTC as M/d/yyyy h:mm:ss tt; null stays
// null, a string that is not a date is an error.
func fnCDate(ev *evaluator, c *Call) (Value, error) {
	t, ok, err := ev.date(c, 0, "expression")
	if !ok {
		return Null, err
	}
	return dateValue(t), nil
}

// addMonths adds n months the .NET way: the day is clamped to the end of
// the target month (Jan 31 + 1 month = Feb 28 or 29), not carried over.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	y += total / 12
	if total %= 12; total < 0 {
		total += 12
		y--
	}
	first := time.Date(y, time.Month(total+1), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

var errInterval = errors.New(`interval must be one of "yyyy", "m", "d", "ww", "h", "n", "s"`)

// DateAdd(interval, value, dateTime): dateTime plus value intervals (yyyy,
// m, d, ww, h, n, s; value may be negative). A null dateTime gives null.
func fnDateAdd(ev *evaluator, c *Call) (Value, error) {
	iv, err := ev.text(c, 0, "interval")
	if err != nil {
		return Null, err
	}
	n, err := ev.int(c, 1, "value")
	if err != nil {
		return Null, err
	}
	t, ok, err := ev.date(c, 2, "dateTime")
	if !ok {
		return Null, err
	}
	// Seconds per interval, to bound n before any arithmetic can overflow:
	// 10,000 years is more than any date can move and stay in range.
	per := map[string]int64{"yyyy": 31622400, "m": 2678400, "d": 86400, "ww": 604800, "h": 3600, "n": 60, "s": 1}[iv]
	if per == 0 {
		return Null, errInterval
	}
	if max := int64(10000*366*86400) / per; int64(n) > max || int64(n) < -max {
		return Null, errors.New("result is outside years 1 to 9999")
	}
	switch iv {
	case "yyyy":
		t = addMonths(t, 12*n)
	case "m":
		t = addMonths(t, n)
	case "d":
		t = t.AddDate(0, 0, n)
	case "ww":
		t = t.AddDate(0, 0, 7*n)
	default:
		t = time.Unix(t.Unix()+int64(n)*per, int64(t.Nanosecond())).UTC()
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return Null, errors.New("result is outside years 1 to 9999")
	}
	return dateValue(t), nil
}

// DateDiff(interval, date1, date2): date2 − date1 in intervals, negative
// when date2 is earlier. yyyy and m count calendar boundaries (VB); d, ww,
// h, n and s are the elapsed time rounded to the nearest whole interval.
// The reference's vectors fix this (−3449.445 days gives −3449, −492.778
// weeks −493); Microsoft does not document it. A null date gives null.
func fnDateDiff(ev *evaluator, c *Call) (Value, error) {
	iv, err := ev.text(c, 0, "interval")
	if err != nil {
		return Null, err
	}
	t1, ok1, err := ev.date(c, 1, "date1")
	if err != nil {
		return Null, err
	}
	t2, ok2, err := ev.date(c, 2, "date2")
	if err != nil || !ok1 || !ok2 {
		return Null, err
	}
	months := (t2.Year()-t1.Year())*12 + int(t2.Month()) - int(t1.Month())
	// Elapsed seconds from Unix times: time.Sub saturates at 292 years.
	el := float64(t2.Unix()-t1.Unix()) + float64(t2.Nanosecond()-t1.Nanosecond())/1e9
	var unit float64
	switch iv {
	case "yyyy":
		return intValue(int64(t2.Year() - t1.Year())), nil
	case "m":
		return intValue(int64(months)), nil
	case "d":
		unit = 86400
	case "ww":
		unit = 7 * 86400
	case "h":
		unit = 3600
	case "n":
		unit = 60
	case "s":
		unit = 1
	default:
		return Null, errInterval
	}
	return intValue(int64(math.Round(el / unit))), nil
}

// fileTimeEpoch is 1601-01-01 in 100 ns ticks before the Unix epoch.
const fileTimeEpoch = 116444736000000000

// DateFromNum(value): an AD date (Windows FILETIME: 100 ns ticks since
// 1601-01-01 UTC) as a DateTime. Null stays null.
func fnDateFromNum(ev *evaluator, c *Call) (Value, error) {
	s, ok, err := ev.textOrNull(c, 0, "value")
	if err != nil || !ok {
		return Null, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return Null, fmt.Errorf("value: %q is not a FILETIME (a non-negative integer)", s)
	}
	n -= fileTimeEpoch
	t := time.Unix(n/1e7, n%1e7*100).UTC()
	if t.Year() > 9999 {
		return Null, errors.New("value: after year 9999")
	}
	return dateValue(t), nil
}

// NumFromDate(value): a date as an AD date (FILETIME). Null stays null;
// dates before 1601 are an error.
func fnNumFromDate(ev *evaluator, c *Call) (Value, error) {
	t, ok, err := ev.date(c, 0, "value")
	if !ok {
		return Null, err
	}
	if t.Year() < 1601 {
		return Null, errors.New("value: before 1601, which AD dates cannot express")
	}
	return intValue(t.Unix()*1e7 + int64(t.Nanosecond()/100) + fileTimeEpoch), nil
}
