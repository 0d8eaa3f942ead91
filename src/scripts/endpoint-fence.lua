-- The master endpoint's fence (RedisMasterEndpoint), loaded by haproxy.cfg with lua-load.
-- Every 100 ms: a backend master_<pod> keeps its sessions only while a strict majority of the
-- Sentinels name <pod> (the servers UP in named_<pod>, one per Sentinel) and no other pod has such a
-- majority. Otherwise its sessions are closed: new connections are already routed elsewhere or
-- nowhere by the frontend's rules, and a client must not keep writing into an old master that the
-- Sentinels have left (isolated, not yet demoted). A demoted or unreachable master needs no fence:
-- its own role check marks it down and on-marked-down shutdown-sessions closes its sessions.
local INTERVAL_MS = 100

local function upCount(backend)
  local n, up = 0, 0
  for _, server in pairs(backend.servers) do
    n = n + 1
    if string.sub(server:get_stats().status, 1, 2) == 'UP' then up = up + 1 end
  end
  return n, up
end

local function fence()
  local majority = {}
  local agreed = 0
  for name, backend in pairs(core.backends) do
    local pod = string.match(name, '^named_(.+)$')
    if pod then
      local n, up = upCount(backend)
      majority[pod] = up >= n // 2 + 1
      if majority[pod] then agreed = agreed + 1 end
    end
  end
  for name, backend in pairs(core.backends) do
    local pod = string.match(name, '^master_(.+)$')
    if pod and not (majority[pod] and agreed == 1) then
      for _, server in pairs(backend.servers) do
        local sessions = tonumber(server:get_stats().scur) or 0
        if sessions > 0 then
          core.Warning('fence: closing ' .. sessions .. ' session(s) of ' .. name .. ': no Sentinel majority names ' .. pod .. ' alone')
          server:shut_sess()
        end
      end
    end
  end
end

core.register_task(function()
  while true do
    fence()
    core.msleep(INTERVAL_MS)
  end
end)
