-- prompts/iteration.lua — the weekly analysis: what worked, improved hooks
-- for the winners (and the middle), new angles for the losers.
--
-- Called with ctx = {
--   profile   = { name, category, offer, audience, ... },
--   week_start = "2026-11-23", currency = "NGN" (may be absent: no revenue yet),
--   items = [{id, position, title, channel, hook, angle, caption, cta,
--             clicks, unique_clicks, signups, conversions, revenue (major units, the project's currency),
--             views (absent = unknown), ctr (absent = unknown), score, class, rank}, ...]  -- by rank
--   totals = { clicks, signups, conversions, revenue },
--   min_entries = 5,
--   retry_reason = "why the previous answer was rejected" (only on a retry),
-- }
-- The model answers ONE JSON object:
--   {"summary": "one paragraph naming real numbers",
--    "hooks":  [{"item_id", "from", "hook", "why"}],   -- every winner and neutral item, winners may get more
--    "angles": [{"item_id", "from", "angle", "hook"}], -- every loser
--    "recommendations": ["...", ...]}
-- The host checks that every item id is one of the week's, that winners and
-- neutral items have a hook and losers an angle, and that there are at
-- least min_entries entries in all (host/iteration/iteration.c).

local prompt = require("prompt")

local function num(x)
  if x == nil then return "unknown" end
  if math.type and math.type(x) == "integer" then return tostring(x) end
  if x >= 1 or x <= -1 then return string.format("%.2f", x) end
  return string.format("%.4f", x)
end

return function(ctx)
  local p = {}
  local function add(s) p[#p + 1] = s end
  local profile = ctx.profile or {}
  add(string.format("Business: %s (%s). Offer: %s.", tostring(profile.name or "?"),
    tostring(profile.category or "?"), tostring(profile.offer or "?")))
  add(string.format("Week of %s. Scores: revenue*100 + signups*20 + clicks*2 + ctr*5 (revenue in %s).",
    tostring(ctx.week_start or "?"), tostring(ctx.currency or "no currency yet")))
  add("")
  add("Scored posts, best first:")
  for _, it in ipairs(ctx.items or {}) do
    add(string.format("[item %s] class=%s score=%s clicks=%s signups=%s conversions=%s revenue=%s views=%s ctr=%s channel=%s position=%s",
      tostring(it.id or "?"), tostring(it.class), num(it.score), num(it.clicks), num(it.signups), num(it.conversions),
      num(it.revenue), num(it.views), num(it.ctr), tostring(it.channel), tostring(it.position)))
    add("  hook: " .. tostring(it.hook or ""))
    add("  angle: " .. tostring(it.angle or ""))
    add("  caption: " .. string.sub(tostring(it.caption or ""), 1, 300))
  end
  local t = ctx.totals or {}
  add(string.format("Totals: clicks=%s signups=%s conversions=%s revenue=%s", num(t.clicks), num(t.signups),
    num(t.conversions), num(t.revenue)))
  add("")
  add("For every winner and neutral post write an improved hook that keeps what worked (\"hooks\", with its item_id"
    .. " and the original as \"from\"); winners may get a second hook. For every loser propose a new angle and a"
    .. string.format(" hook for it (\"angles\"). At least %d entries in all.", tonumber(ctx.min_entries) or 5))
  add("The summary is one paragraph on what worked and what did not, naming the real numbers above; when"
    .. " nothing was tracked, say so instead of guessing.")
  add([[Return JSON: {"summary", "hooks": [{"item_id", "from", "hook", "why"}], "angles": [{"item_id", "from", "angle", "hook"}], "recommendations": [3 concrete actions]}]])
  prompt.add_retry(add, ctx.retry_reason)
  return {
    system = "You analyse small-business promo results honestly: never invent numbers, say when data is thin, "
      .. "and improve what the numbers show worked. Answer with ONE JSON object.",
    prompt = table.concat(p, "\n"),
  }
end
