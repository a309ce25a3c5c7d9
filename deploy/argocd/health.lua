-- Argo CD health check for integration.rock8s.com Application and Component.
--
-- integration-operator writes status.phase (Running | Pending | Degraded |
-- Failed), status.observedGeneration (-1 until first reconciled) and the
-- conditions Ready, Reconciling and Stalled. This maps them to Argo CD's
-- health:
--   no status, or observedGeneration below metadata.generation -> Progressing
--     (the status speaks for an older spec, or for none yet)
--   Running -> Healthy; Pending -> Progressing; Degraded, Failed -> Degraded
--   no phase: Stalled=True -> Degraded, Ready=True -> Healthy, else Progressing
--
-- Argo CD runs Lua 5.1 (gopher-lua); keep to what 5.1 and 5.4 share.
-- Tested by crates/health/tests/argocd.rs.

local hs = {}

local function condition(status, name)
  if type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == name then
      return c
    end
  end
  return nil
end

-- "reason: message" of a condition, or what there is of it.
local function describe(c)
  if c == nil then
    return nil
  end
  local reason = c.reason or ""
  local message = c.message or ""
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  if reason ~= "" then
    return reason
  end
  return nil
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for integration-operator to report a status"
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for integration-operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")
local phase = status.phase

if phase == "Running" then
  hs.status = "Healthy"
  hs.message = describe(ready) or "Running"
elseif phase == "Pending" then
  hs.status = "Progressing"
  hs.message = describe(ready) or "Pending"
elseif phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = describe(ready) or "Degraded"
elseif phase == "Failed" then
  hs.status = "Degraded"
  hs.message = describe(stalled) or describe(ready) or "Failed"
elseif stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled) or "Stalled"
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready) or "Ready"
else
  hs.status = "Progressing"
  if phase ~= nil then
    hs.message = "Unknown phase " .. tostring(phase)
  else
    hs.message = describe(ready) or "Waiting for integration-operator to report a phase"
  end
end
return hs
