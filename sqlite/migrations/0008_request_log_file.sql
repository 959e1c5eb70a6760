-- The request log moves to a file of its own, requests.db (see
-- requestlog.sql and moveRequestLog, which copies its rows there before
-- this runs): its writes into this file made every matching query slower
-- (docs/benchmarks.md, "Fourth round").
DROP TABLE request_log;
