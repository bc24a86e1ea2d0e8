-- lib/channel.lua — what the channel rules (scripts/channels/) share.
--
--   local channel = require("channel")

local channel = {}

-- How strongly a request asks for a channel: 10 when it names the channel
-- (any of `names`, found anywhere in the lower-cased request, or any of
-- `words`, found as whole words), plus 2 for each other of `keywords` found as
-- a whole word. The host picks the channel with the highest score.
function channel.intent(request, names, words, keywords)
  local text = " " .. string.lower(request or "") .. " "
  local score, named = 0, {}
  for _, n in ipairs(names) do
    named[n] = true
    if score == 0 and text:find(n, 1, true) then score = 10 end
  end
  for _, w in ipairs(words or {}) do
    named[w] = true
    if score == 0 and text:find("[^%w]" .. w .. "[^%w]") then score = 10 end
  end
  for _, k in ipairs(keywords) do
    if not named[k] and text:find("[^%w]" .. k .. "[^%w]") then
      score = score + 2
    end
  end
  return score
end

return channel
