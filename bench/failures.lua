-- wrk script (wrk -s bench/failures.lua): at the end of the run, one JSON line
-- with the requests completed and every kind of failure wrk counts. `status`
-- is responses with a status above 399 (wrk's "Non-2xx or 3xx responses").
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status))
end
