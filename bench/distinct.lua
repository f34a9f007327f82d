-- wrk script: every request gets its own query string, so the gateway can
-- neither serve it from the cache nor coalesce it with another one.
local n = 0
request = function()
    n = n + 1
    return wrk.format("GET", wrk.path .. "?n=" .. n)
end
