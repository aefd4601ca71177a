-- wrk script: POST the small non-streaming chat completion request used by bench/run.sh.
-- The bearer token comes from env BENCH_AUTH_KEY (client key for proxy/nginx, upstream key for direct).
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local key = os.getenv("BENCH_AUTH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
wrk.path = "/v1/chat/completions"
